import {
  getArgumentValues,
  getNamedType,
  isObjectType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { fragmentDefinitions, selectedFields } from '../graphql/index.js';

interface FieldAtPath {
  typeName: string;
  /** Undefined when the path ends at an entity representation (`_entities.3`). */
  fieldName?: string;
  args?: Record<string, unknown>;
  /** The representation the path goes through, for `_entities` paths. */
  entity?: Record<string, unknown>;
}

/**
 * The object type and field an error path points at, found by walking the
 * operation (aliases and fragments included); through `_entities` the concrete
 * type comes from the representation at that index. Undefined when the path
 * cannot be followed (an abstract type other than `_Entity`).
 */
export function fieldAtPath(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  document: DocumentNode | undefined,
  variables: Record<string, unknown>,
  path: readonly (string | number)[],
): FieldAtPath | undefined {
  const fragments = fragmentDefinitions(document);
  let type: GraphQLObjectType | undefined | null =
    operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  let selections: SelectionSetNode | undefined = operation.selectionSet;
  let entity: Record<string, unknown> | undefined;
  let previous: string | undefined;
  for (const [i, segment] of path.entries()) {
    if (typeof segment === 'number') {
      if (previous === '_entities') {
        const representations = variables.representations;
        const rep = Array.isArray(representations) ? (representations[segment] as Record<string, unknown> | undefined) : undefined;
        const named = typeof rep?.__typename === 'string' ? schema.getType(rep.__typename) : undefined;
        if (!rep || !isObjectType(named)) return undefined;
        type = named;
        entity = rep;
        if (i === path.length - 1) return { typeName: named.name, entity };
      }
      continue;
    }
    if (!type || !selections) return undefined;
    const node = findField(selections, segment, type.name, fragments);
    const def = node ? type.getFields()[node.name.value] : undefined;
    if (!node || !def) return undefined;
    if (i === path.length - 1) {
      let args: Record<string, unknown> | undefined;
      try {
        args = getArgumentValues(def, node, variables);
      } catch {
        args = undefined;
      }
      return { typeName: type.name, fieldName: node.name.value, ...(args ? { args } : {}), ...(entity ? { entity } : {}) };
    }
    previous = node.name.value;
    const named = getNamedType(def.type);
    type = isObjectType(named) ? named : undefined;
    selections = node.selectionSet;
  }
  return undefined;
}

/** The first field selected under `responseKey` for an object of `typeName`, through the fragments that apply to it. */
function findField(
  selections: SelectionSetNode,
  responseKey: string,
  typeName: string,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
): FieldNode | undefined {
  for (const { field } of selectedFields(selections, fragments, { typeCondition: (name) => name === typeName })) {
    if ((field.alias ?? field.name).value === responseKey) return field;
  }
  return undefined;
}

import { createHash } from 'node:crypto';
import { calculateReferencedFieldsByType, usageReportingSignature } from '@apollo/utils.usagereporting';
import { fragmentDefinitions, reachableFragments } from '@suoke/platform';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInputType,
  isListType,
  isSpecifiedScalarType,
  isNonNullType,
  Kind,
  typeFromAST,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/**
 * What one operation of one document uses of the schema, computed once per (document, operation,
 * schema) and cached by the recorder. `coordinates` are the schema coordinates the document text
 * names (scripts/schema-check.mjs prints the same strings); `variables` are the declared variables
 * whose values may name more (enum values, input fields), walked per request.
 */
export interface OperationUsage {
  /** Operation name, or `(anonymous)`. */
  operation: string;
  /** sha256 hex of Apollo's usage-reporting signature (literals stripped, sorted, whitespace reduced). */
  signature: string;
  coordinates: readonly string[];
  /** Variables whose declared type contains an enum or an input object: only those can add coordinates. */
  variables: readonly { name: string; type: GraphQLInputType }[];
}

export const ANONYMOUS = '(anonymous)';

/**
 * Types and fields come from Apollo's `calculateReferencedFieldsByType` (what Apollo's usage
 * reporting sends GraphOS): a field selected on an interface is recorded on the interface, and on
 * the concrete type when an inline fragment names it. Arguments, enum values and input fields come
 * from a graphql-js `TypeInfo` walk over the same operation and the fragments it spreads.
 *
 * Fields under `@include(if: false)` or `@skip` are recorded too: the document names them, so
 * removing them breaks the document at validation whatever the variables say.
 */
export function operationUsage(document: DocumentNode, operationName: string | null | undefined, schema: GraphQLSchema): OperationUsage {
  const operation = pickOperation(document, operationName);
  const name = operation?.name?.value ?? ANONYMOUS;
  const coordinates = new Set<string>();
  const referenced = calculateReferencedFieldsByType({ document, schema, resolvedOperationName: operation?.name?.value ?? null });
  for (const [typeName, { fieldNames }] of Object.entries(referenced)) {
    coordinates.add(typeName);
    for (const field of fieldNames) if (!field.startsWith('__')) coordinates.add(`${typeName}.${field}`);
  }
  const typeInfo = new TypeInfo(schema);
  const variables: { name: string; type: GraphQLInputType }[] = [];
  const usedFragments = reachableFragments(fragmentDefinitions(document), operation);
  const addInputType = (type: GraphQLInputType | null | undefined) => {
    const named = type && getNamedType(type);
    if (named && (isEnumType(named) || isInputObjectType(named))) coordinates.add(named.name);
  };
  const visitor = visitWithTypeInfo(typeInfo, {
    Field() {
      // The type a field returns is used too (a custom scalar, a union, an object whose fields are all behind fragments).
      const type = typeInfo.getType();
      const named = type && getNamedType(type);
      if (named && !isSpecifiedScalarType(named) && !named.name.startsWith('__')) coordinates.add(named.name);
    },
    Argument(node) {
      const parent = typeInfo.getParentType();
      const field = typeInfo.getFieldDef();
      // Directive arguments (@include(if:)) are not part of the API a subgraph owns.
      if (typeInfo.getDirective() || !parent || !field) return;
      coordinates.add(`${parent.name}.${field.name}(${node.name.value}:)`);
      addInputType(typeInfo.getInputType());
    },
    ObjectField(node) {
      const parent = typeInfo.getParentInputType();
      const named = parent && getNamedType(parent);
      if (named && isInputObjectType(named) && named.getFields()[node.name.value]) {
        coordinates.add(`${named.name}.${node.name.value}`);
        addInputType(typeInfo.getInputType());
      }
    },
    EnumValue(node) {
      const type = typeInfo.getInputType();
      const named = type && getNamedType(type);
      if (named && isEnumType(named) && named.getValue(node.value)) coordinates.add(`${named.name}.${node.value}`);
    },
    VariableDefinition(node) {
      const type = typeFromAST(schema, node.type);
      if (!type || !isInputType(type)) return;
      addInputType(type);
      const named = getNamedType(type);
      if (isEnumType(named) || isInputObjectType(named)) variables.push({ name: node.variable.name.value, type });
    },
  });
  if (operation) visit(operation, visitor);
  for (const fragment of usedFragments) visit(fragment, visitor);
  return {
    operation: name,
    signature: createHash('sha256').update(usageReportingSignature(document, operation?.name?.value ?? '')).digest('hex'),
    coordinates: [...coordinates].sort(),
    variables,
  };
}

/** Coordinates named by the variable values of one request: enum values and input fields, nested at any depth. */
export function variableCoordinates(usage: OperationUsage, values: Record<string, unknown> | undefined, into: Set<string>): void {
  if (!values) return;
  for (const { name, type } of usage.variables) walkValue(type, values[name], into, 0);
}

function walkValue(type: GraphQLInputType, value: unknown, into: Set<string>, depth: number): void {
  // Deeper than any real input; a hostile value cannot make the walk expensive.
  if (value === null || value === undefined || depth > 32) return;
  if (isNonNullType(type)) return walkValue(type.ofType, value, into, depth);
  if (isListType(type)) {
    if (Array.isArray(value)) for (const item of value) walkValue(type.ofType, item, into, depth + 1);
    else walkValue(type.ofType, value, into, depth + 1);
    return;
  }
  if (isEnumType(type)) {
    if (typeof value === 'string' && type.getValue(value)) into.add(`${type.name}.${value}`);
    return;
  }
  if (isInputObjectType(type) && typeof value === 'object' && !Array.isArray(value)) {
    const fields = type.getFields();
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const field = fields[key];
      if (!field) continue;
      into.add(`${type.name}.${key}`);
      walkValue(field.type, item, into, depth + 1);
    }
  }
}

function pickOperation(document: DocumentNode, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  return operationName ? operations.find((o) => o.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
}

import { getNamedType, getNullableType, GraphQLError, isInterfaceType, isListType, isObjectType, isUnionType, Kind } from 'graphql';
import type { ASTNode, DocumentNode, GraphQLCompositeType, GraphQLSchema, OperationDefinitionNode, SelectionSetNode, ValueNode } from 'graphql';
import { fragmentDefinitions } from '@suoke/platform';
import { QUERY_LIMIT_FAILED, type QueryLimits } from './security.js';

// The query cost of useQueryLimits (security.ts): each operation compiled once into a cost tree, priced per request.

export function validationError(message: string, nodes?: ASTNode | readonly ASTNode[]): GraphQLError {
  return new GraphQLError(message, { ...(nodes ? { nodes } : {}), extensions: { code: QUERY_LIMIT_FAILED, http: { status: 400 } } });
}

export function costError(cost: number, limits: QueryLimits, operation: OperationDefinitionNode): GraphQLError {
  const shown = Number.isFinite(cost) && cost < 1e15 ? String(Math.round(cost)) : 'too many';
  return validationError(
    `Query cost limit of ${limits.maxCost} exceeded, found ${shown}: each field counts once per item of the lists it is in ` +
      `(\`first\` items, ${limits.listSize} when a list has no \`first\`)`,
    operation,
  );
}

export function firstError(value: number | string, limits: QueryLimits, node: ASTNode, variable?: string): GraphQLError {
  const what = variable ? `first (variable $${variable})` : 'first';
  return validationError(`${what} must be at most ${limits.maxFirst}; received ${value}`, node);
}

/**
 * The cost of an operation as a tree: `fields` counted once per item of the
 * enclosing lists, children multiplied by their list's factor (a number, or a
 * variable read per request). Fragments are compiled once and shared, so a
 * "fragment bomb" costs linear time to price.
 */
interface CostTree {
  fields: number;
  children: { factor: Factor; tree: CostTree }[];
  /** True when some factor below is a variable. */
  dynamic: boolean;
}
type Factor = number | { variable: string; fallback: number };

export interface CompiledOperation {
  tree: CostTree;
  /** `first` arguments given by variables: checked per request. */
  firstVariables: { name: string; node: ASTNode }[];
  /** Literal (or default) `first` over the limit, known from the document alone. */
  staticErrors: GraphQLError[];
}

export function compileDocument(schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits): Map<OperationDefinitionNode, CompiledOperation> {
  const fragments = fragmentDefinitions(document);
  const result = new Map<OperationDefinitionNode, CompiledOperation>();
  for (const operation of document.definitions) {
    if (operation.kind !== Kind.OPERATION_DEFINITION) continue;
    const root =
      operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    const defaults = new Map<string, ValueNode>();
    for (const definition of operation.variableDefinitions ?? []) {
      if (definition.defaultValue) defaults.set(definition.variable.name.value, definition.defaultValue);
    }
    const compiled: CompiledOperation = { tree: emptyTree(), firstVariables: [], staticErrors: [] };
    const fragmentTrees = new Map<string, CostTree>();

    const compileSelections = (tree: CostTree, selectionSet: SelectionSetNode, parent: GraphQLCompositeType | undefined | null, sized: boolean, visiting: Set<string>) => {
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
          compileSelections(tree, selection.selectionSet, asComposite(type), sized, visiting);
          continue;
        }
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          // Unknown and cyclic spreads are other rules' errors.
          if (!fragment || visiting.has(name)) continue;
          const key = `${name}\n${sized}`;
          let shared = fragmentTrees.get(key);
          if (!shared) {
            shared = emptyTree();
            visiting.add(name);
            compileSelections(shared, fragment.selectionSet, asComposite(schema.getType(fragment.typeCondition.name.value)), sized, visiting);
            visiting.delete(name);
            fragmentTrees.set(key, shared);
          }
          addChild(tree, 1, shared);
          continue;
        }
        tree.fields += 1;
        // Introspection (`__schema`, `__type`) reads the schema in memory: no subgraph is asked.
        if (!selection.selectionSet || selection.name.value.startsWith('__')) continue;
        const definition = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
        const type = definition ? getNullableType(definition.type) : undefined;
        const isList = type !== undefined && isListType(type);
        const firstDefinition = definition?.args.find((arg) => arg.name === 'first');
        let factor: Factor = 1;
        if (firstDefinition) {
          const argument = selection.arguments?.find((arg) => arg.name.value === 'first');
          const schemaDefault = typeof firstDefinition.defaultValue === 'number' ? firstDefinition.defaultValue : limits.listSize;
          factor = argument ? firstFactor(argument.value, schemaDefault, defaults, compiled, limits) : schemaDefault;
        } else if (isList && !sized) {
          factor = limits.listSize;
        }
        const child = emptyTree();
        // A connection's own lists (edges) hold the `first` items already counted.
        compileSelections(child, selection.selectionSet, asComposite(definition ? getNamedType(definition.type) : undefined), Boolean(firstDefinition) && !isList, visiting);
        addChild(tree, factor, child);
      }
    };
    compileSelections(compiled.tree, operation.selectionSet, root, false, new Set());
    result.set(operation, compiled);
  }
  return result;
}

function firstFactor(value: ValueNode, fallback: number, defaults: Map<string, ValueNode>, compiled: CompiledOperation, limits: QueryLimits): Factor {
  if (value.kind === Kind.INT) return checkedLiteral(value, compiled, limits);
  if (value.kind !== Kind.VARIABLE) return fallback;
  const name = value.name.value;
  const defaultValue = defaults.get(name);
  const variableFallback = defaultValue?.kind === Kind.INT ? checkedLiteral(defaultValue, compiled, limits) : fallback;
  compiled.firstVariables.push({ name, node: value });
  return { variable: name, fallback: variableFallback };
}

function checkedLiteral(node: ValueNode & { value: string }, compiled: CompiledOperation, limits: QueryLimits): number {
  const n = Number(node.value);
  if (n > limits.maxFirst) compiled.staticErrors.push(firstError(node.value, limits, node));
  return Math.max(0, n);
}

function asComposite(type: unknown): GraphQLCompositeType | undefined {
  return isObjectType(type) || isInterfaceType(type) || isUnionType(type) ? type : undefined;
}

function emptyTree(): CostTree {
  return { fields: 0, children: [], dynamic: false };
}

function addChild(tree: CostTree, factor: Factor, child: CostTree): void {
  tree.children.push({ factor, tree: child });
  if (typeof factor !== 'number' || child.dynamic) tree.dynamic = true;
}

/** Fields resolved per item at the root, memoised per subtree (fragments are shared). */
export function costOf(tree: CostTree, variables: Record<string, unknown> | undefined): number {
  const memo = new Map<CostTree, number>();
  const visit = (node: CostTree): number => {
    const known = memo.get(node);
    if (known !== undefined) return known;
    let cost = node.fields;
    for (const { factor, tree: child } of node.children) cost += factorValue(factor, variables) * visit(child);
    memo.set(node, cost);
    return cost;
  };
  return visit(tree);
}

export function factorValue(factor: Factor, variables: Record<string, unknown> | undefined): number {
  if (typeof factor === 'number') return factor;
  const value = variables?.[factor.variable];
  // A value of the wrong type fails variable coercion later, with its own error.
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value) : factor.fallback;
}


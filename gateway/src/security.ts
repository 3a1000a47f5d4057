import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  getNamedType,
  getNullableType,
  GraphQLError,
  isInterfaceType,
  isListType,
  isObjectType,
  isUnionType,
  Kind,
  type DocumentNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type ASTNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import { fragmentDefinitions } from '@suoke/platform';
import type { GatewayConfig } from './config.js';

/**
 * Limits on the shape of an operation, checked before planning so that a
 * hostile document costs the subgraphs nothing. Every value comes from the
 * gateway configuration (QUERY_* variables; defaults in config.ts).
 */
export interface QueryLimits {
  /** Nesting of fields, fragments flattened (`{ me { id } }` is 2). */
  maxDepth: number;
  /** Aliased fields in the operation, through its fragments (`__typename` is free). */
  maxAliases: number;
  /** Directive uses in the operation, through its fragments. */
  maxDirectives: number;
  /** Lexical tokens in the whole document; the parser stops at the limit. */
  maxTokens: number;
  /** Estimated fields resolved: see CostTree. */
  maxCost: number;
  /** Largest `first` any field may be asked for, literal or variable. */
  maxFirst: number;
  /** Items assumed for a list field without a `first` argument, and for `first` when it is absent. */
  listSize: number;
}

export const QUERY_LIMIT_FAILED = 'GRAPHQL_VALIDATION_FAILED';

/**
 * The gateway's query guard: graphql-armor's depth, alias and directive rules,
 * the parser's own token limit, and this module's cost and `first` rules.
 * All of it runs once per distinct document (Apollo caches validated
 * documents); per request only operations whose `first` comes from variables
 * are re-checked, against a precompiled cost tree (no schema lookups).
 */
export function useQueryLimits<TContext extends BaseContext>(limits: QueryLimits) {
  const compiled = new WeakMap<DocumentNode, Map<OperationDefinitionNode, CompiledOperation>>();
  const compile = (schema: GraphQLSchema, document: DocumentNode) => {
    let operations = compiled.get(document);
    if (!operations) {
      operations = compileDocument(schema, document, limits);
      compiled.set(document, operations);
    }
    return operations;
  };

  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, flattenFragments: true, ...rejectAsValidationError },
    maxAliases: { n: limits.maxAliases, ...rejectAsValidationError },
    maxDirectives: { n: limits.maxDirectives, ...rejectAsValidationError },
    // Armor's cost rule weighs literal `first` only, and its token plugin fails
    // as an HTTP 500 after parsing the document a second time: both are replaced below.
    costLimit: { enabled: false },
    maxTokens: { enabled: false },
    // Its pattern misses "Did you mean the enum value …?"; see gatewayErrorFormatter (error-format.ts).
    blockFieldSuggestion: { enabled: false },
  }).protect();

  const costRule: ValidationRule = (context: ValidationContext) => ({
    Document(document) {
      for (const [operation, { staticErrors, tree }] of compile(context.getSchema(), document)) {
        for (const error of staticErrors) context.reportError(error);
        if (!tree.dynamic) {
          const cost = costOf(tree, undefined);
          if (cost > limits.maxCost) context.reportError(costError(cost, limits, operation));
        }
      }
      return false;
    },
  });

  /** The per-request part: `first` and cost from the variables, for a document that passed validation. */
  const checkVariables = (schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>) => {
    const compiledOperation = compile(schema, document).get(operation);
    if (!compiledOperation?.tree.dynamic) return;
    for (const { name, node } of compiledOperation.firstVariables) {
      const value = variables[name];
      if (typeof value === 'number' && value > limits.maxFirst) throw firstError(value, limits, node, name);
    }
    const cost = costOf(compiledOperation.tree, variables);
    if (cost > limits.maxCost) throw costError(cost, limits, operation);
  };

  // One listener for every request: it keeps no per-request state.
  const listener: GraphQLRequestListener<TContext> = {
    // No await before the checks: the rejection settles before any other plugin's
    // (the rate limiter's), so the client is told about the limit, not the rate.
    async didResolveOperation({ document, operation, schema, request }) {
      if (!operation) throw unresolvedOperation(request.operationName, document);
      checkVariables(schema, document, operation, request.variables ?? {});
    },
  };
  const plugin: ApolloServerPlugin<TContext> = { requestDidStart: async () => listener };

  return {
    validationRules: [...armor.validationRules, costRule],
    parseOptions: { maxTokens: limits.maxTokens },
    plugin,
    /** For operations that do not go through Apollo Server (subscriptions over WebSocket): throws the limit's error. */
    checkVariables,
  };
}

/** Armor reports through the validation context, so Apollo answers GRAPHQL_VALIDATION_FAILED with 400. */
const rejectAsValidationError = {
  exposeLimits: true,
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError) => {
      // Armor prefixes its messages with "Syntax Error: ", which they are not.
      context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
    },
  ],
};

function validationError(message: string, nodes?: ASTNode | readonly ASTNode[]): GraphQLError {
  return new GraphQLError(message, { ...(nodes ? { nodes } : {}), extensions: { code: QUERY_LIMIT_FAILED, http: { status: 400 } } });
}

/**
 * Apollo Server resolves the operation by graphql-js rules (an `operationName`
 * of "" names no operation), Apollo Gateway by looser ones; when they disagree
 * the gateway executes what the server cannot account for, and the client gets
 * a 500 ("Unknown operation named …" from the gateway, or Apollo Server's own
 * consistency check). Refused here as the client's mistake, before planning.
 */
function unresolvedOperation(operationName: string | undefined, document: DocumentNode): GraphQLError {
  const named = typeof operationName === 'string';
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
  const message = named
    ? `Unknown operation named "${operationName.slice(0, 100)}".`
    : operations === 0
      ? 'The document contains no operation.'
      : 'Must provide operation name if query contains multiple operations.';
  return new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } });
}

function costError(cost: number, limits: QueryLimits, operation: OperationDefinitionNode): GraphQLError {
  const shown = Number.isFinite(cost) && cost < 1e15 ? String(Math.round(cost)) : 'too many';
  return validationError(
    `Query cost limit of ${limits.maxCost} exceeded, found ${shown}: each field counts once per item of the lists it is in ` +
      `(\`first\` items, ${limits.listSize} when a list has no \`first\`)`,
    operation,
  );
}

function firstError(value: number | string, limits: QueryLimits, node: ASTNode, variable?: string): GraphQLError {
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

interface CompiledOperation {
  tree: CostTree;
  /** `first` arguments given by variables: checked per request. */
  firstVariables: { name: string; node: ASTNode }[];
  /** Literal (or default) `first` over the limit, known from the document alone. */
  staticErrors: GraphQLError[];
}

function compileDocument(schema: GraphQLSchema, document: DocumentNode, limits: QueryLimits): Map<OperationDefinitionNode, CompiledOperation> {
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
function costOf(tree: CostTree, variables: Record<string, unknown> | undefined): number {
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

function factorValue(factor: Factor, variables: Record<string, unknown> | undefined): number {
  if (typeof factor === 'number') return factor;
  const value = variables?.[factor.variable];
  // A value of the wrong type fails variable coercion later, with its own error.
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(0, value) : factor.fallback;
}

/** The QUERY_* settings of the gateway configuration. */
export function queryLimitsFromConfig(config: GatewayConfig): QueryLimits {
  return {
    maxDepth: config.QUERY_MAX_DEPTH,
    maxAliases: config.QUERY_MAX_ALIASES,
    maxDirectives: config.QUERY_MAX_DIRECTIVES,
    maxTokens: config.QUERY_MAX_TOKENS,
    maxCost: config.QUERY_MAX_COST,
    maxFirst: config.QUERY_MAX_FIRST,
    listSize: config.QUERY_LIST_SIZE,
  };
}

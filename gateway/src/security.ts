import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, Kind, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode, type ValidationContext, type ValidationRule } from 'graphql';
import type { GatewayConfig } from './config.js';
import { compileDocument, costError, costOf, firstError, type CompiledOperation } from './query-cost.js';

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

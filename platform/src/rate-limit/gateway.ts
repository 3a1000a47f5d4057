import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { getArgumentValues, GraphQLError, parse, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { isServiceSubject } from '../auth/index.js';
import { fragmentDefinitions, selectedFields } from '../graphql/index.js';
import type { Logger } from '../logger.js';
import { CLIENT_IP_HEADER, encodeBudget, RATE_BUDGET_HEADER, RATE_LIMITED, type RateBudget } from './budget.js';
import { rateLimitCounters, type RateLimitRule } from './keys.js';
import { DEFAULT_ROOT_RULE, rateLimitRules } from './rules.js';
import type { Counter, RateLimitStore } from './store.js';

/** What the gateway-side check reads from, and writes to, the gateway's request context. */
export interface RateLimitGatewayContext {
  requestId: string;
  user?: { id: string } | undefined;
  /** The caller's address; keys anonymous limits. */
  clientIp: string;
  client: { name: string; version: string };
  /** Set here: the per-field decisions the data sources forward to subgraphs (RATE_BUDGET_HEADER). */
  rateBudget?: RateBudget | undefined;
}

export type RateLimitRules = ReturnType<typeof rateLimitRules>;

/** Reads the `@rateLimit` rules out of a composed supergraph (the API schema drops them). */
export function rulesFromSupergraph(sdl: string): RateLimitRules {
  return rateLimitRules(parse(sdl));
}

export interface RateLimitPluginOptions {
  store: RateLimitStore;
  /** The rules of the supergraph currently served. */
  rules: () => RateLimitRules;
  log: Logger;
}

/**
 * Enforces the supergraph's `@rateLimit` rules on root fields before any
 * subgraph fetch: one counter update per distinct key (all aliases of a field
 * at once), a per-field budget handed to the subgraphs through the context,
 * and, when no limited root field has room left, the whole operation refused
 * with RATE_LIMITED, HTTP 429 and Retry-After — so a blocked client costs the
 * subgraphs nothing. An operation with no counted root field (only `__typename`
 * or introspection) is one call of the default rule: never free. An argument
 * value too long to key on refuses the operation before anything is counted.
 */
export function useRateLimits<TContext extends RateLimitGatewayContext>(options: RateLimitPluginOptions): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, schema, request, contextValue }) {
          if (!operation) return;
          await consumeRateLimits(options, { operation, document, schema, variables: request.variables ?? {}, context: contextValue });
        },
      };
    },
  };
}

/**
 * The rate-limit decision for one operation (the plugin's, and the WebSocket
 * subscriptions'): counts its root fields, sets `context.rateBudget`, and
 * throws RATE_LIMITED when no limited root field has room left.
 */
export async function consumeRateLimits(
  options: RateLimitPluginOptions,
  { operation, document, schema, variables, context }: {
    operation: OperationDefinitionNode;
    document: DocumentNode;
    schema: GraphQLSchema;
    variables: Record<string, unknown>;
    context: RateLimitGatewayContext;
  },
): Promise<void> {
  // The platform's own services (the agent's searches, the report saga) are limited upstream, by the user request behind them.
  if (isServiceSubject(context.user?.id)) return;
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return;
  const fragments = fragmentDefinitions(document);
  const rules = options.rules();
  const identity = { userId: context.user?.id, ip: context.clientIp };

  const groups = new Map<string, { coordinate: string; rule: RateLimitRule; counters: Counter[]; responseKeys: string[] }>();
  const add = (coordinate: string, rule: RateLimitRule, args: Record<string, unknown>, responseKey: string) => {
    const counters = rateLimitCounters(coordinate, rule, identity, args);
    const id = counters.map((c) => c.key).join('\n');
    const group = groups.get(id) ?? { coordinate, rule, counters, responseKeys: [] };
    group.responseKeys.push(responseKey);
    groups.set(id, group);
  };
  try {
    // Root fields the operation will execute, through fragments, honouring @skip/@include; each occurrence is a call.
    for (const { field } of selectedFields(operation.selectionSet, fragments, { variables })) {
      const name = field.name.value;
      if (name.startsWith('__')) continue;
      const definition = rootType.getFields()[name];
      if (!definition) continue;
      const coordinate = `${rootType.name}.${name}`;
      const rule = rules.fields.get(coordinate) ?? rules.types.get(rootType.name) ?? DEFAULT_ROOT_RULE;
      let args: Record<string, unknown> = {};
      try {
        args = getArgumentValues(definition, field, variables);
      } catch {
        // Invalid arguments fail in execution with their own error; count the call all the same.
      }
      add(coordinate, rule, args, field.alias?.value ?? name);
    }
    // Nothing a subgraph resolves (only __typename or introspection): still one call per operation.
    if (groups.size === 0) add(`${rootType.name}.__typename`, rules.types.get(rootType.name) ?? DEFAULT_ROOT_RULE, {}, '__typename');
  } catch (error) {
    if (error instanceof GraphQLError && error.extensions.code === 'BAD_USER_INPUT') {
      throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 400 } } });
    }
    throw error;
  }

  const budget: RateBudget = {};
  let rejected = 0;
  let total = 0;
  let retryAfter = 0;
  let message: string | undefined;
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const result = await options.store.consume(group.counters, group.responseKeys.length);
      const decisions = (budget[group.coordinate] ??= {});
      group.responseKeys.forEach((key, i) => {
        decisions[key] = i < result.allowed ? 0 : result.retryAfter;
      });
      total += group.responseKeys.length;
      rejected += group.responseKeys.length - result.allowed;
      if (result.allowed < group.responseKeys.length) {
        retryAfter = Math.max(retryAfter, result.retryAfter);
        message ??= group.rule.message;
      }
    }),
  );
  context.rateBudget = budget;
  if (rejected > 0 && rejected === total) {
    options.log.info(
      { request_id: context.requestId, client_name: context.client.name, client_version: context.client.version, retryAfter },
      'operation rejected by rate limit before fan-out',
    );
    throw new GraphQLError(message ?? `Too many requests: try again in ${retryAfter} s`, {
      extensions: { code: RATE_LIMITED, retryAfter, http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfter)]]) } },
    });
  }
}

/**
 * What a subgraph fetch carries of the check: the client's address (keys its own
 * limits) and the per-field decisions. Subgraphs believe them only alongside the
 * gateway secret, so send them only with it.
 */
export function rateLimitHeaders(context: Pick<RateLimitGatewayContext, 'clientIp' | 'rateBudget'>): Record<string, string> {
  const headers: Record<string, string> = { [CLIENT_IP_HEADER]: context.clientIp };
  if (context.rateBudget) headers[RATE_BUDGET_HEADER] = encodeBudget(context.rateBudget);
  return headers;
}

import { createHash } from 'node:crypto';
import type { ApolloGateway, ServiceMap } from '@apollo/gateway';
import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import { BREAK, getVariableValues, Kind, visit, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import Negotiator from 'negotiator';
import { runDeferred, type SubsequentPayload } from './execute.js';
import { DeferPlanner, deferPlanOf, withDefer } from './plan.js';

type GatewayInterface = NonNullable<ApolloServerOptions<BaseContext>['gateway']>;
type Executor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
type GatewayRequestContext = Parameters<Executor>[0];

/** The media type of the incremental delivery format served (Apollo Client's Defer20220824Handler). */
export const DEFER_SPEC = 'multipart/mixed; deferSpec=20220824';

/**
 * Whether Apollo Server would answer this accept header with `deferSpec=20220824`
 * parts: its own negotiation (runHttpQuery) over the same media types. A client
 * that accepts only JSON, or only `incrementalSpec=v0.2`, gets one result.
 */
export function acceptsDeferSpec(accept: string | null | undefined): boolean {
  if (!accept) return false;
  const negotiator = new Negotiator({ headers: { accept } });
  return negotiator.mediaType(['multipart/mixed', 'multipart/mixed; incrementalSpec=v0.2', DEFER_SPEC]) === DEFER_SPEC;
}

const hasDeferCache = new WeakMap<DocumentNode, boolean>();

/** Whether the document uses @defer anywhere (cached per parsed document: Apollo Server keeps them). */
export function usesDefer(document: DocumentNode): boolean {
  let found = hasDeferCache.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      Directive(node) {
        if (node.name.value !== 'defer') return undefined;
        found = true;
        return BREAK;
      },
    });
    hasDeferCache.set(document, found);
  }
  return found;
}

/** The document without @defer: what a client that reads one result gets, planned and run as any query. */
export function withoutDefer(document: DocumentNode): DocumentNode {
  return visit(document, { Directive: (node) => (node.name.value === 'defer' ? null : undefined) });
}

export interface DeferOptions {
  /** The gateway's data sources by subgraph (those Apollo Gateway built), read per request. */
  serviceMap: () => ServiceMap;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  telemetry?: { includeDocument?: boolean; recordExceptions?: boolean };
}

/**
 * @defer on Apollo Gateway, on its public API. `gateway` is what Apollo Server
 * is given instead of the ApolloGateway: the same supergraph, with @defer
 * declared in the API schema, and an executor that hands every operation
 * without @defer to ApolloGateway's unchanged. An operation with @defer from
 * a client that accepts `multipart/mixed; deferSpec=20220824` is planned with
 * incremental delivery and its primary part run at once; its result is the
 * operation's result as far as Apollo Server is concerned (error formatting,
 * didEncounterErrors, metrics, status), and `plugin` turns the response into an
 * incremental one whose later parts are the deferred fragments. Any other
 * client's @defer is dropped and the whole result is sent at once.
 */
export function createDefer(apolloGateway: ApolloGateway, options: DeferOptions): { gateway: GatewayInterface; plugin: ApolloServerPlugin<BaseContext> } {
  const planner = new DeferPlanner();
  let apiSchema: GraphQLSchema | undefined;
  const pending = new WeakMap<object, AsyncIterable<SubsequentPayload>>();

  apolloGateway.onSchemaLoadOrUpdate(({ apiSchema: served, coreSupergraphSdl }) => {
    apiSchema = withDefer(served);
    planner.update(coreSupergraphSdl);
  });

  const wrap = (inner: Executor): Executor => async (requestContext) => {
    if (!usesDefer(requestContext.document)) return inner(requestContext);
    const accept = requestContext.request.http?.headers.get('accept');
    const schema = planner.current();
    if (!acceptsDeferSpec(accept) || !schema || !apiSchema) return inner(oneResult(requestContext));
    const key = `${requestContext.queryHash}\n${requestContext.operationName ?? ''}`;
    const plan = deferPlanOf(planner.plan(schema, requestContext.document, key, requestContext.operationName ?? undefined), withDefaults(requestContext.operation, requestContext.request.variables));
    if (!plan) return inner(oneResult(requestContext));
    // As Apollo Gateway's executor does before running a plan: variables that do not fit their types are the client's error.
    const coerced = getVariableValues(apiSchema, requestContext.operation.variableDefinitions ?? [], requestContext.request.variables ?? {});
    if (coerced.errors) return { errors: coerced.errors };
    const { initial, subsequent } = await runDeferred({
      requestContext: requestContext as never,
      apiSchema,
      schema,
      plan,
      serviceMap: options.serviceMap(),
      formatError: options.formatError,
      telemetry: options.telemetry ?? {},
    });
    pending.set(requestContext.context, subsequent);
    return initial;
  };

  const gateway: GatewayInterface = {
    async load(loadOptions) {
      const loaded = await apolloGateway.load(loadOptions);
      return { ...loaded, executor: loaded.executor ? wrap(loaded.executor) : null };
    },
    onSchemaLoadOrUpdate(callback) {
      return apolloGateway.onSchemaLoadOrUpdate((schema) => callback({ ...schema, apiSchema: withDefer(schema.apiSchema) }));
    },
    stop: () => apolloGateway.stop(),
  };

  const plugin: ApolloServerPlugin<BaseContext> = {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          const subsequentResults = pending.get(contextValue);
          if (!subsequentResults || response.body.kind !== 'single') return;
          pending.delete(contextValue);
          response.body = { kind: 'incremental', initialResult: { ...response.body.singleResult, hasNext: true }, subsequentResults };
        },
      };
    },
  };

  return { gateway, plugin };
}

/** The request's variables with the operation's literal defaults for those it omits (what `@defer(if: $v)` is decided by). */
function withDefaults(operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): Record<string, unknown> {
  const values = { ...variables };
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (values[name] === undefined && definition.defaultValue?.kind === Kind.BOOLEAN) values[name] = definition.defaultValue.value;
  }
  return values;
}

/** The request as Apollo Gateway's executor runs it for a client that reads one result: no @defer (its plan cached under its own hash). */
function oneResult(requestContext: GatewayRequestContext): GatewayRequestContext {
  const document = withoutDefer(requestContext.document);
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION && (!requestContext.operationName || definition.name?.value === requestContext.operationName),
  );
  return {
    ...requestContext,
    document,
    ...(operation ? { operation } : {}),
    queryHash: createHash('sha256').update(requestContext.queryHash).update('\0without @defer').digest('hex'),
  };
}

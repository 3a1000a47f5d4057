import { executeQueryPlan, type GraphQLDataSource, type GraphQLDataSourceProcessOptions, type ServiceMap } from '@apollo/gateway';
import type { Logger } from '@suoke/platform';
import type { ExecutionResult } from 'graphql';
import type { GatewayContext } from '../context.js';
import type { SubscriptionPlan } from './plan.js';
import type { Prepared } from './prepare.js';

type RequestContext = Parameters<typeof executeQueryPlan>[2];
type ProcessResult = Awaited<ReturnType<GraphQLDataSource['process']>>;

/**
 * Answers the plan's primary fetch with a subscription event, once; every
 * other fetch (the `rest`, including entity fetches back to the same
 * subgraph) goes to the gateway's own data source for that subgraph.
 */
class EventDataSource implements GraphQLDataSource<GatewayContext> {
  private answered = false;

  constructor(
    private readonly event: ExecutionResult,
    private readonly primary: SubscriptionPlan['primary'],
    private readonly upstream: GraphQLDataSource | undefined,
  ) {}

  async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<ProcessResult> {
    if (!this.answered && options.request.query === this.primary.operation) {
      this.answered = true;
      const { data, errors } = this.event;
      return { ...(data !== undefined ? { data } : {}), ...(errors ? { errors: errors as ProcessResult['errors'] } : {}) } as ProcessResult;
    }
    if (!this.upstream) throw new Error(`no data source for subgraph "${this.primary.serviceName}"`);
    return this.upstream.process(options as GraphQLDataSourceProcessOptions);
  }
}

/** What one event's execution needs: the subscription as prepared at subscribe time, and a logger. */
export type EventRequest = Omit<Prepared, 'caller'> & { log: Logger };

/**
 * One event through the rest of the plan with the gateway's data sources
 * (pools, breaker, deduplication, tracing, the same headers as a query's),
 * shaped by executeQueryPlan as any query's result is. The request context
 * carries what executeQueryPlan reads: the request's variables, the context
 * handed to data sources, a logger and a metrics object (it records error
 * paths there).
 */
export async function runEvent(request: EventRequest, event: ExecutionResult, serviceMap: ServiceMap): Promise<ExecutionResult> {
  const { plan } = request;
  const sources: ServiceMap = { ...serviceMap, [plan.primary.serviceName]: new EventDataSource(event, plan.primary, serviceMap[plan.primary.serviceName]) };
  const requestContext = {
    request: { query: request.source, variables: request.variables, operationName: request.operationName, extensions: {} },
    document: request.document,
    source: request.source,
    operation: request.operation,
    operationName: request.operationName ?? null,
    schema: request.schema.apiSchema,
    context: request.context,
    logger: request.log,
    metrics: {},
    overallCachePolicy: undefined,
  } as unknown as RequestContext;
  const result = await executeQueryPlan(
    plan.eventPlan,
    sources,
    requestContext,
    request.operationContext,
    request.schema.supergraphSchema,
    request.schema.plannerApiSchema,
    { includeDocument: false, recordExceptions: false },
  );
  return result as ExecutionResult;
}

import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CLIENT_IP_HEADER, encodeBudget, GATEWAY_SECRET_HEADER, RATE_BUDGET_HEADER } from '@suoke/platform';
import type { GatewayContext } from './context.js';
import type { FetchObserver } from './metrics.js';

/**
 * Subgraph fetches carry the caller's own token (subgraphs verify it again;
 * no bare identity header is ever sent), the request id, and the gateway's
 * shared secret when one is configured. The W3C `traceparent` header is added
 * by the HTTP instrumentation, from the active `gateway.fetch` span.
 */
export class SuokeDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly gatewaySecret: string | undefined;
  private readonly subgraph: string;
  private readonly observe: FetchObserver | undefined;

  constructor(config: { url: string; name?: string; gatewaySecret?: string | undefined; observe?: FetchObserver }) {
    super({ url: config.url });
    this.gatewaySecret = config.gatewaySecret;
    this.subgraph = config.name ?? config.url;
    this.observe = config.observe;
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers) return;
    if (this.gatewaySecret) headers.set(GATEWAY_SECRET_HEADER, this.gatewaySecret);
    // Health checks and schema loading run without a request context.
    if (!('requestId' in context)) return;
    if (context.authorization) headers.set('authorization', context.authorization);
    headers.set('x-request-id', context.requestId);
    // Subgraphs believe these only alongside the secret.
    if (this.gatewaySecret) {
      headers.set(CLIENT_IP_HEADER, context.clientIp);
      if (context.rateBudget) headers.set(RATE_BUDGET_HEADER, encodeBudget(context.rateBudget));
    }
  }

  /** Times each fetch made for a client operation (metrics). */
  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): ReturnType<RemoteGraphQLDataSource['process']> {
    const observe = this.observe;
    // Health checks and schema loading are not client traffic.
    if (!observe || (options.kind as string) !== 'incoming operation') return super.process(options);
    const started = performance.now();
    try {
      const response = await super.process(options);
      observe(this.subgraph, (performance.now() - started) / 1000, response.errors?.length ? 'graphql_errors' : 'ok');
      return response;
    } catch (error) {
      observe(this.subgraph, (performance.now() - started) / 1000, 'failed');
      throw error;
    }
  }
}

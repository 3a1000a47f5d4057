import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GATEWAY_SECRET_HEADER } from '@suoke/platform';
import type { GatewayContext } from './context.js';

/**
 * Subgraph fetches carry the caller's own token (subgraphs verify it again;
 * no bare identity header is ever sent), the request id, and the gateway's
 * shared secret when one is configured.
 */
export class SuokeDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly gatewaySecret: string | undefined;

  constructor(config: { url: string; gatewaySecret?: string | undefined }) {
    super({ url: config.url });
    this.gatewaySecret = config.gatewaySecret;
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    const headers = request.http?.headers;
    if (!headers) return;
    if (this.gatewaySecret) headers.set(GATEWAY_SECRET_HEADER, this.gatewaySecret);
    // Health checks and schema loading run without a request context.
    if (!('requestId' in context)) return;
    if (context.authorization) headers.set('authorization', context.authorization);
    headers.set('x-request-id', context.requestId);
  }
}

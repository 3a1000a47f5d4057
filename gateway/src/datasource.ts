import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { CLIENT_IP_HEADER, encodeBudget, GATEWAY_SECRET_HEADER, RATE_BUDGET_HEADER } from '@suoke/platform';
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
    // Subgraphs believe these only alongside the secret.
    if (this.gatewaySecret) {
      headers.set(CLIENT_IP_HEADER, context.clientIp);
      if (context.rateBudget) headers.set(RATE_BUDGET_HEADER, encodeBudget(context.rateBudget));
    }
  }
}

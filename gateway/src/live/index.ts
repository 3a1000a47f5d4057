import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { TokenVerifier } from '@suoke/platform';
import { createLiveCore, type LiveCoreOptions } from './core.js';
import { createHttpTransport } from './http.js';
import { isSubscriptionPayload } from './prepare.js';
import { createWsTransport } from './ws.js';
import type { ClientHeaderNames } from '../client-identity.js';

export { SUBSCRIPTION_LIMIT, type StreamTarget, type Transport } from './core.js';
export { MULTIPART_CONTENT_TYPE, requestedTransport } from './http.js';

export interface LiveServerOptions extends LiveCoreOptions {
  verify: TokenVerifier;
  trustedProxyHops: number;
  /** The client-awareness headers (CLIENT_NAME_HEADER, CLIENT_VERSION_HEADER). */
  clientHeaders?: ClientHeaderNames | undefined;
  keepAliveMs: number;
  /** Multipart heartbeat parts and SSE comments, this often. */
  httpHeartbeatMs: number;
  maxPayloadBytes: number;
}

/**
 * The gateway's subscriptions on its one endpoint, /graphql, over three
 * transports on one core (core.ts: governance, caps, expiry, reloads,
 * shutdown, upstream lifecycle): GraphQL over WebSocket (graphql-ws),
 * Apollo's multipart subscriptions and graphql-sse (http.ts). Each is opened
 * on the owning subgraph over graphql-sse and every event is completed by the
 * rest of the plan through the gateway's data sources.
 */
export function createLiveServer(options: LiveServerOptions) {
  const core = createLiveCore(options);
  const ws = createWsTransport(core, options);
  const http = createHttpTransport(core, {
    verify: options.verify,
    sessions: options.sessions,
    trustedProxyHops: options.trustedProxyHops,
    clientHeaders: options.clientHeaders,
    heartbeatMs: options.httpHeartbeatMs,
    isSubscription: (payload) => isSubscriptionPayload(options, payload),
  });

  return {
    /** Takes the HTTP server's upgrade requests (WebSocket on /graphql). */
    attach(server: Server): void {
      ws.attach(server);
    },
    /** The HTTP front's `graphqlStream` hook: subscriptions POSTed with a multipart or SSE accept header. */
    handleHttp: (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<boolean> => http.handle(req, res, body),
    update: (schema: Parameters<typeof options.planner.update>[0]) => options.planner.update(schema),
    stats: core.stats,
    /**
     * Ends every subscription, on every transport, with a reason
     * (SERVICE_UNAVAILABLE, "subscribe again"): graphql-ws sends each final
     * `next` and `complete` and closes the sockets (1001 Going away); HTTP
     * streams write their last part and end. Within `graceMs`.
     */
    async stop(graceMs: number): Promise<void> {
      await core.stop(graceMs);
      await ws.close();
      await core.close();
    },
  };
}

import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { SessionDenyList, TokenVerifier } from '@suoke/platform';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { callerFrom, type LiveCaller } from './caller.js';
import type { ClientHeaderNames } from '../client-identity.js';
import type { LiveCore } from './core.js';
import { liveError } from './prepare.js';
import type { LiveStream } from './stream.js';

export interface WsTransportOptions {
  verify: TokenVerifier;
  sessions: SessionDenyList;
  trustedProxyHops: number;
  clientHeaders?: ClientHeaderNames | undefined;
  keepAliveMs: number;
  maxPayloadBytes: number;
}

type Extra = { live?: LiveCaller };

/**
 * GraphQL over WebSocket (graphql-transport-ws, the graphql-ws library) on
 * /graphql: the token is verified once, at `connection_init`; each
 * `subscribe` is opened by the live core, whose stream graphql-ws reads
 * (and `return()`s when the client completes or the socket closes).
 */
export function createWsTransport(core: LiveCore, options: WsTransportOptions) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const server = useServer<Record<string, unknown>, Extra>(
    {
      isProd: true,
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        try {
          ctx.extra.live = await callerFrom(ctx.connectionParams, ctx.extra.request, options);
          return true;
        } catch (error) {
          const message = error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED' ? error.message : 'The access token could not be verified';
          // 4403: graphql-ws's "Forbidden"; the reason says why (a close reason is at most 123 bytes).
          ctx.extra.socket.close(4403, Buffer.from(`UNAUTHENTICATED: ${message}`).subarray(0, 123).toString('utf8').replace(/\uFFFD+$/, ''));
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const caller = ctx.extra.live;
        if (!caller) return [liveError('Authenticate first', 'UNAUTHENTICATED')];
        const opened = await core.open(caller, payload, 'ws');
        if (Array.isArray(opened)) return opened;
        // graphql-ws calls `subscribe` next, always; a client gone meanwhile gets the stream `return()`ed at once.
        const { prepared, stream } = opened;
        return { schema: prepared.schema.apiSchema, document: prepared.document, operationName: prepared.operationName, variableValues: prepared.variables, contextValue: { stream } };
      },
      subscribe: (args) => (args.contextValue as { stream: LiveStream }).stream,
      onNext: (_ctx, _id, _payload, _args, result) => {
        const { errors, ...rest } = result;
        return errors ? { ...rest, errors: errors.map(core.format) } : rest;
      },
      onError: (_ctx, _id, _payload, errors) => errors.map(core.format),
    },
    wss,
    options.keepAliveMs,
  );

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname !== '/graphql' || core.stopping) {
      socket.end(`HTTP/1.1 ${core.stopping ? '503 Service Unavailable' : '404 Not Found'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }

  return {
    attach(http: Server): void {
      http.on('upgrade', handleUpgrade);
    },
    /** After the core has ended every stream: lets graphql-ws send the final `next` and `complete`, then closes the sockets (1001). */
    async close(): Promise<void> {
      // The `complete` messages follow the streams' end by a few ticks.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await server.dispose();
    },
  };
}

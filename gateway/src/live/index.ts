import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServiceMap } from '@apollo/gateway';
import { CLIENT_IP_HEADER, encodeBudget, GATEWAY_SECRET_HEADER, RATE_BUDGET_HEADER, type Logger, type TokenVerifier } from '@suoke/platform';
import { GraphQLError, validate, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { OPERATION_NOT_TRUSTED } from '../document-guard.js';
import { callerFrom, type LiveCaller } from './caller.js';
import { runEvent } from './execute.js';
import { liveError, prepareSubscription, type Prepared, type PrepareOptions } from './prepare.js';
import { SubscriptionSlots } from './slots.js';
import { endResult, LiveStream, reasonFor, REASONS } from './stream.js';
import { openUpstream, streamUrl, upstreamAgent } from './upstream.js';

export const SUBSCRIPTION_LIMIT = 'SUBSCRIPTION_LIMIT';
const OWN_CODES = new Set([SUBSCRIPTION_LIMIT, OPERATION_NOT_TRUSTED]);

/** One instance of a subgraph to open a stream on, picked by its balancer; `done` reports how opening went. */
export interface StreamTarget {
  url: string;
  done(outcome: 'ok' | 'unreachable' | 'failed'): void;
}

export interface LiveServerOptions extends PrepareOptions {
  verify: TokenVerifier;
  trustedProxyHops: number;
  maxPerUser: number;
  max: number;
  keepAliveMs: number;
  /** An upstream stream silent this long is lost (see upstreamAgent). */
  upstreamIdleMs: number;
  maxPayloadBytes: number;
  gatewaySecret: string | undefined;
  /** The gateway's data sources by subgraph (those queries use). */
  serviceMap(): ServiceMap;
  /** Undefined when the subgraph cannot take a stream now (unknown, or its breaker is open). */
  streamTarget(subgraph: string): StreamTarget | undefined;
  /** The gateway's error formatter (masking, codes), applied to every error a client is sent. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  log: Logger;
}

type Extra = { live?: LiveCaller };

/**
 * GraphQL over WebSocket (graphql-transport-ws, the graphql-ws library) on the
 * gateway's /graphql: subscriptions checked as operations are, opened on the
 * owning subgraph over graphql-sse, each event completed by the rest of the
 * plan through the gateway's data sources.
 */
export function createLiveServer(options: LiveServerOptions) {
  const { log } = options;
  const slots = new SubscriptionSlots(options.maxPerUser, options.max);
  const open = new Set<LiveStream>();
  let stopping = false;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const agent = upstreamAgent(options.upstreamIdleMs);

  const format = (error: GraphQLError): GraphQLFormattedError => {
    // The live path's own refusals: its message and extensions are written for the client (the platform's masking does not know them).
    const code = error.extensions.code;
    if (typeof code === 'string' && OWN_CODES.has(code)) return { message: error.message, extensions: error.extensions };
    return options.formatError(error.toJSON(), error);
  };

  function start(prepared: Prepared & { release: () => void }): LiveStream {
    const { plan, context, caller } = prepared;
    let stopUpstream: (() => void) | undefined;
    let expiry: NodeJS.Timeout | undefined;
    const onEnd = () => {
      prepared.release();
      stopUpstream?.();
      if (expiry) clearTimeout(expiry);
      unwatch();
    };
    const hydrate = async (event: ExecutionResult): Promise<ExecutionResult> => {
      try {
        return await runEvent({ ...prepared, log }, event, options.serviceMap());
      } catch (error) {
        log.error({ err: error, request_id: context.requestId }, 'subscription event could not be completed');
        return endResult(REASONS.internal);
      }
    };
    const guard = () => {
      try {
        options.sessions.check(caller.user);
        return undefined;
      } catch {
        return REASONS.sessionEnded;
      }
    };
    const stream = new LiveStream(hydrate, { onEnd, onFinish: () => open.delete(stream), guard });
    open.add(stream);
    // A new supergraph: the subscription goes on while its document is still valid, else ends with a reason.
    const unwatch = options.planner.onUpdate(() => {
      const schema = options.planner.apiSchema;
      if (schema && !validFor(schema, prepared)) stream.end(REASONS.schemaChanged);
    });
    if (caller.expiresAt !== undefined) {
      expiry = setTimeout(() => stream.end(REASONS.expired), Math.min(Math.max(0, caller.expiresAt - Date.now()), 2_147_483_647));
      expiry.unref();
    }
    const target = options.streamTarget(plan.primary.serviceName);
    if (!target) {
      stream.end(REASONS.upstreamLost);
      return stream;
    }
    let reported = false;
    const report = (outcome: 'ok' | 'unreachable' | 'failed') => {
      if (!reported) target.done(outcome);
      reported = true;
    };
    stopUpstream = openUpstream(
      {
        url: streamUrl(target.url),
        agent,
        headers: upstreamHeaders(context, options.gatewaySecret),
        query: plan.primary.operation,
        variables: pick(prepared.variables, plan.primary.variableUsages),
        operationName: plan.primary.operationName,
      },
      {
        opened: () => report('ok'),
        event: (event) => stream.push(event),
        end: (end) => {
          report(end.kind === 'lost' ? 'unreachable' : 'ok');
          if (end.kind === 'complete') return stream.end();
          if (end.kind === 'lost') log.warn({ subgraph: plan.primary.serviceName, err: end.error, request_id: context.requestId }, 'upstream subscription lost');
          stream.end(reasonFor(end));
        },
      },
    );
    return stream;
  }

  const server = useServer<Record<string, unknown>, Extra>(
    {
      isProd: true,
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        try {
          ctx.extra.live = await callerFrom(ctx.connectionParams, ctx.extra.request, { verify: options.verify, sessions: options.sessions, trustedProxyHops: options.trustedProxyHops });
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
        if (stopping) return [liveError(REASONS.shutdown.message, REASONS.shutdown.code)];
        const prepared = await prepareSubscription(options, caller, payload);
        if (Array.isArray(prepared)) return prepared;
        const slot = slots.acquire(caller.key);
        if ('full' in slot) {
          const limit = slot.full === 'caller' ? `${options.maxPerUser} open subscriptions per user` : `${options.max} open subscriptions on this gateway`;
          return [liveError(`Too many subscriptions: at most ${limit}; complete one first`, SUBSCRIPTION_LIMIT, { limit: slot.full })];
        }
        return {
          schema: prepared.schema.apiSchema,
          document: prepared.document,
          operationName: prepared.operationName,
          variableValues: prepared.variables,
          contextValue: { ...prepared, release: slot.release },
        };
      },
      subscribe: (args) => start(args.contextValue as Prepared & { release: () => void }),
      onNext: (_ctx, _id, _payload, _args, result) => {
        const { errors, ...rest } = result;
        return errors ? { ...rest, errors: errors.map(format) } : rest;
      },
      onError: (_ctx, _id, _payload, errors) => errors.map(format),
    },
    wss,
    options.keepAliveMs,
  );

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost');
    if (pathname !== '/graphql' || stopping) {
      socket.end(`HTTP/1.1 ${stopping ? '503 Service Unavailable' : '404 Not Found'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  }

  return {
    /** Takes the HTTP server's upgrade requests (WebSocket on /graphql). */
    attach(http: Server): void {
      http.on('upgrade', handleUpgrade);
    },
    update: (schema: Parameters<typeof options.planner.update>[0]) => options.planner.update(schema),
    stats: {
      get subscriptions() {
        return slots.open;
      },
    },
    /**
     * Ends every subscription with a reason (SERVICE_UNAVAILABLE, "subscribe
     * again"), lets graphql-ws send each final `next` and `complete`, then
     * closes the sockets (1001 Going away). Within `graceMs`.
     */
    async stop(graceMs: number): Promise<void> {
      stopping = true;
      for (const stream of [...open]) stream.end(REASONS.shutdown);
      const deadline = Date.now() + graceMs;
      while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      // The `complete` messages follow the streams' end by a few ticks.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await server.dispose();
      await agent.destroy();
    },
  };
}

function validFor(schema: GraphQLSchema, prepared: Prepared): boolean {
  return validate(schema, prepared.document).length === 0;
}

function pick(variables: Record<string, unknown>, names: readonly string[] | undefined): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const name of names ?? []) if (Object.hasOwn(variables, name)) picked[name] = variables[name];
  return picked;
}

function upstreamHeaders(context: Prepared['context'], secret: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'x-request-id': context.requestId };
  if (context.authorization) headers.authorization = context.authorization;
  // As on query fetches (datasource.ts): subgraphs believe the address and budget only alongside the secret.
  if (secret) {
    headers[GATEWAY_SECRET_HEADER] = secret;
    headers[CLIENT_IP_HEADER] = context.clientIp;
    if (context.rateBudget) headers[RATE_BUDGET_HEADER] = encodeBudget(context.rateBudget);
  }
  return headers;
}

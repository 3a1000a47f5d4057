import type { ServiceMap } from '@apollo/gateway';
import { GATEWAY_SECRET_HEADER, platformTracer, rateLimitHeaders, type Logger } from '@suoke/platform';
import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { GraphQLError, validate, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { OPERATION_NOT_TRUSTED } from '../document-guard.js';
import type { SubscriptionObserver } from '../metrics.js';
import type { LiveCaller } from './caller.js';
import { clientAttributes, clientLogFields } from '../client-awareness.js';
import { runEvent } from './execute.js';
import { liveError, prepareSubscription, type Prepared, type PrepareOptions, type SubscribePayload } from './prepare.js';
import { SubscriptionSlots } from './slots.js';
import { LiveStream, reasonFor, reasonName, REASONS } from './stream.js';
import { streamUrl, upstreamAgent, UpstreamStreams } from './upstream.js';

export const SUBSCRIPTION_LIMIT = 'SUBSCRIPTION_LIMIT';
const OWN_CODES = new Set([SUBSCRIPTION_LIMIT, OPERATION_NOT_TRUSTED]);

/** How a client reaches the gateway's subscriptions (a metric label). */
export type Transport = 'ws' | 'multipart' | 'sse';

/** One instance of a subgraph to open a stream on, picked by its balancer; `done` reports how opening went. */
export interface StreamTarget {
  url: string;
  done(outcome: 'ok' | 'unreachable' | 'failed'): void;
}

export interface LiveCoreOptions extends PrepareOptions {
  maxPerUser: number;
  max: number;
  /** An upstream stream silent this long is lost (see upstreamAgent). */
  upstreamIdleMs: number;
  gatewaySecret: string | undefined;
  /** The gateway's data sources by subgraph (those queries use). */
  serviceMap(): ServiceMap;
  /** Undefined when the subgraph cannot take a stream now (unknown, or its breaker is open). */
  streamTarget(subgraph: string): StreamTarget | undefined;
  /** The gateway's error formatter (masking, codes), applied to every error a client is sent. */
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  /** Subscription metrics (metrics.ts); none in unit tests. */
  observe?: SubscriptionObserver;
  /** Field usage (usage/): told of every subscription that opens; it never throws. */
  recordUsage?: (prepared: Prepared) => void;
  log: Logger;
}

/**
 * What every transport (graphql-ws, multipart, SSE) shares: a subscription
 * opened for a caller and a payload goes through the same governance
 * (prepareSubscription), takes a slot under the same per-user and
 * per-process caps, ends at the token's expiry or when the session ends,
 * follows hot reloads, ends with a reason at shutdown, and closes its
 * upstream stream as soon as the client is gone, even while it opens.
 * A transport only frames what the returned LiveStream yields.
 */
export function createLiveCore(options: LiveCoreOptions) {
  const { log } = options;
  const slots = new SubscriptionSlots(options.maxPerUser, options.max);
  /** Open subscriptions and what they run. */
  const open = new Map<LiveStream, Prepared>();
  let stopping = false;
  const agent = upstreamAgent(options.upstreamIdleMs);
  // One event stream per subgraph instance carries all its subscriptions (upstream.ts); its own requests carry only the secret.
  const upstreams = new UpstreamStreams(agent, options.gatewaySecret ? { [GATEWAY_SECRET_HEADER]: options.gatewaySecret } : {});
  // A new supergraph: each subscription goes on while its document is still valid, else ends with a reason.
  // One listener for all (not one per subscription), each distinct document validated once.
  const unwatch = options.planner.onUpdate(() => {
    const schema = options.planner.apiSchema;
    if (!schema) return;
    const valid = new Map<Prepared['document'], boolean>();
    for (const [stream, prepared] of [...open]) {
      let ok = valid.get(prepared.document);
      if (ok === undefined) valid.set(prepared.document, (ok = validFor(schema, prepared)));
      if (!ok) stream.end(REASONS.schemaChanged);
    }
  });

  /** Every error a client is sent: the live path's own refusals as written, the rest through the gateway's masking. */
  const format = (error: GraphQLError): GraphQLFormattedError => {
    const code = error.extensions.code;
    if (typeof code === 'string' && OWN_CODES.has(code)) return { message: error.message, extensions: withoutHttp(error.extensions) };
    const formatted = options.formatError(error.toJSON(), error);
    return formatted.extensions?.http ? { ...formatted, extensions: withoutHttp(formatted.extensions) } : formatted;
  };

  function start(prepared: Prepared, release: () => void, transport: Transport): LiveStream {
    const { plan, context, caller } = prepared;
    const observe = options.observe;
    // One span for the subscription's life: the upstream request carries it (traceparent), and each event's span is its child.
    const span = platformTracer.startSpan('gateway.subscription', {
      kind: SpanKind.SERVER,
      attributes: {
        'graphql.operation.type': 'subscription',
        'graphql.operation.name': prepared.operationName ?? '',
        'suoke.transport': transport,
        'suoke.subgraph': plan.primary.serviceName,
        ...clientAttributes(context.client),
      },
    });
    const spanContext: Context = trace.setSpan(otelContext.active(), span);
    let stopUpstream: (() => void) | undefined;
    let expiry: NodeJS.Timeout | undefined;
    observe?.opened(transport);
    options.recordUsage?.(prepared);
    const onEnd = () => {
      release();
      stopUpstream?.();
      if (expiry) clearTimeout(expiry);
    };
    const hydrate = async (event: ExecutionResult): Promise<ExecutionResult> => {
      const began = performance.now();
      return otelContext.with(spanContext, () =>
        platformTracer.startActiveSpan('gateway.subscription.event', async (eventSpan) => {
          try {
            const result = await runEvent({ ...prepared, log }, event, options.serviceMap());
            observe?.event(transport, (performance.now() - began) / 1000);
            return result;
          } catch (error) {
            eventSpan.setStatus({ code: SpanStatusCode.ERROR });
            log.error({ err: error, request_id: context.requestId, ...clientLogFields(context.client) }, 'subscription event could not be completed');
            throw error;
          } finally {
            eventSpan.end();
          }
        }),
      );
    };
    const guard = () => {
      try {
        options.sessions.check(caller.user);
        return undefined;
      } catch {
        return REASONS.sessionEnded;
      }
    };
    const stream: LiveStream = new LiveStream(hydrate, {
      onEnd,
      onFinish: () => {
        open.delete(stream);
        const ended = reasonName(stream.endReason, stream.endedBy);
        observe?.closed(transport, ended);
        if (stream.endReason) span.setStatus({ code: SpanStatusCode.ERROR, message: stream.endReason.code });
        span.setAttribute('suoke.subscription.ended', ended);
        span.end();
      },
      guard,
    });
    open.set(stream, prepared);
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
    // Posted inside the subscription's span: the undici instrumentation puts its traceparent on the operation's request.
    stopUpstream = otelContext.with(spanContext, () =>
      upstreams.open(
        {
          url: streamUrl(target.url),
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
            if (end.kind === 'lost') log.warn({ subgraph: plan.primary.serviceName, err: end.error, request_id: context.requestId, ...clientLogFields(context.client) }, 'upstream subscription lost');
            stream.end(reasonFor(end));
          },
        },
      ),
    );
    return stream;
  }

  return {
    format,
    get stopping() {
      return stopping;
    },
    /**
     * Checks a subscription (the caller, the document, the limits, the caps)
     * and opens it, or says why not. The caller of `open` owns the stream:
     * it must read it to its end or call `return()` (a client that left).
     */
    async open(caller: LiveCaller, payload: SubscribePayload, transport: Transport): Promise<Opened | GraphQLError[]> {
      if (stopping) return [liveError(REASONS.shutdown.message, REASONS.shutdown.code)];
      const prepared = await prepareSubscription(options, caller, payload);
      if (Array.isArray(prepared)) {
        options.observe?.refused(transport, refusalCode(prepared));
        return prepared;
      }
      if (stopping) return [liveError(REASONS.shutdown.message, REASONS.shutdown.code)];
      const slot = slots.acquire(caller.key);
      if ('full' in slot) {
        const limit = slot.full === 'caller' ? `${options.maxPerUser} open subscriptions per user` : `${options.max} open subscriptions on this gateway`;
        options.observe?.refused(transport, SUBSCRIPTION_LIMIT);
        return [liveError(`Too many subscriptions: at most ${limit}; complete one first`, SUBSCRIPTION_LIMIT, { limit: slot.full })];
      }
      return { stream: start(prepared, slot.release, transport), prepared };
    },
    stats: {
      get subscriptions() {
        return slots.open;
      },
      /** Upstream event streams open (one per subgraph instance with subscriptions). */
      get upstreamStreams() {
        return upstreams.size;
      },
    },
    /** Ends every subscription with SERVICE_UNAVAILABLE and refuses new ones; resolves once all have finished, or after `graceMs`. */
    async stop(graceMs: number): Promise<void> {
      stopping = true;
      for (const stream of [...open.keys()]) stream.end(REASONS.shutdown);
      const deadline = Date.now() + graceMs;
      while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    },
    async close(): Promise<void> {
      unwatch();
      upstreams.close();
      await agent.destroy();
    },
  };
}

export type LiveCore = ReturnType<typeof createLiveCore>;

/** An open subscription: the stream to read, and what was checked to open it. */
export interface Opened {
  stream: LiveStream;
  prepared: Prepared;
}

function refusalCode(errors: readonly GraphQLError[]): string {
  const code = errors[0]?.extensions.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** The HTTP status a limit attaches is for the HTTP transports' status line, never for the client's error. */
function withoutHttp(extensions: Record<string, unknown>): Record<string, unknown> {
  const { http: _http, ...rest } = extensions;
  return rest;
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
    Object.assign(headers, rateLimitHeaders(context));
  }
  return headers;
}

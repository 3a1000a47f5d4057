import { subscribe } from 'node:diagnostics_channel';
import { context, isSpanContextValid, propagation, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span } from '@opentelemetry/api';
import { platformTracer } from './tracing.js';
import { tracingSuppressed } from './unsampled.js';

/**
 * HTTP client spans for undici — global fetch, and the gateway's subgraph
 * pools — in place of @opentelemetry/instrumentation-undici, which on each
 * request parsed the URL, copied every header into a Map and set a dozen
 * attributes (the largest tracing cost left in the gateway, three fetches per
 * operation). undici reports each request on diagnostics channels; here:
 *
 * - outside any trace, or in a context that suppresses tracing (exporters):
 *   nothing, not even headers;
 * - inside an unsampled trace: the W3C headers only (`traceparent …-00`), so
 *   the next service follows the decision instead of drawing its own;
 * - inside a sampled trace: a CLIENT span, child of the active span, whose
 *   context is what the headers carry; method, server address and port,
 *   `url.full` without its query (it may hold keys), status code; a status
 *   ≥ 400 or a network error marks it failed, with `error.type` only (error
 *   messages may quote the URL);
 * - except directly under Apollo Gateway's `gateway.fetch` span, which already
 *   stands for exactly this call to a subgraph (and records its outcome): the
 *   headers carry that span, and the subgraph's server span is its child, as
 *   issue 6 draws the tree. A client span there would double the gateway's
 *   spans per fetch for nothing.
 */
interface UndiciRequest {
  origin?: string | URL;
  method?: string;
  path?: string;
  addHeader(name: string, value: string): unknown;
}

const spans = new WeakMap<object, Span>();
let subscribed = false;

/** Subscribes to undici's channels once per process. */
export function traceUndiciRequests(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('undici:request:create', (message) => requestCreated((message as { request: UndiciRequest }).request));
  subscribe('undici:request:headers', (message) => {
    const { request, response } = message as { request: object; response: { statusCode: number } };
    const span = spans.get(request);
    if (!span) return;
    span.setAttribute('http.response.status_code', response.statusCode);
    if (response.statusCode >= 400) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', String(response.statusCode));
    }
  });
  subscribe('undici:request:trailers', (message) => {
    const { request } = message as { request: object };
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    span.end();
  });
  subscribe('undici:request:error', (message) => {
    const { request, error } = message as { request: object; error: { code?: unknown; name?: string } };
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    const type = typeof error?.code === 'string' ? error.code : (error?.name ?? 'Error');
    if (type !== 'AbortError') {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', type);
    }
    span.end();
  });
}

function requestCreated(request: UndiciRequest): void {
  const active = context.active();
  if (tracingSuppressed(active)) return;
  const activeSpan = trace.getSpan(active);
  const parent = activeSpan?.spanContext();
  if (!parent || !isSpanContextValid(parent)) return;
  if ((parent.traceFlags & TraceFlags.SAMPLED) === 0 || request.method === 'CONNECT' || isGatewayFetch(activeSpan)) {
    addHeaders(request, active);
    return;
  }
  const method = request.method ?? 'GET';
  const origin = originOf(request.origin);
  const span = platformTracer.startSpan(
    method,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'server.address': origin.host,
        'server.port': origin.port,
        'url.full': origin.href + pathOf(request.path),
      },
    },
    active,
  );
  addHeaders(request, trace.setSpan(active, span));
  spans.set(request, span);
}

/** Apollo Gateway's span around one subgraph fetch (the SDK's spans carry their name and scope, as ReadableSpan says). */
function isGatewayFetch(span: unknown): boolean {
  const readable = span as { name?: unknown; instrumentationScope?: { name?: unknown } };
  return readable.name === 'gateway.fetch' && readable.instrumentationScope?.name === 'apollo/gateway-js';
}

function addHeaders(request: UndiciRequest, carrierContext: Context): void {
  const carrier: Record<string, string> = {};
  propagation.inject(carrierContext, carrier);
  // `addHeader` is undici's documented way for a channel subscriber to add a header (undici 5.x on, Node's bundled one included).
  for (const name in carrier) request.addHeader(name, carrier[name]!);
}

/** Parsed once per origin: a process talks to a handful. */
const origins = new Map<string, { href: string; host: string; port: number }>();
function originOf(value: string | URL | undefined): { href: string; host: string; port: number } {
  const key = String(value ?? '');
  let origin = origins.get(key);
  if (!origin) {
    try {
      const url = new URL(key);
      const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
      origin = { href: url.origin, host: url.hostname.replace(/^\[|\]$/g, ''), port };
    } catch {
      origin = { href: key, host: key, port: 0 };
    }
    if (origins.size >= 100) origins.clear();
    origins.set(key, origin);
  }
  return origin;
}

function pathOf(path: string | undefined): string {
  if (!path) return '/';
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}

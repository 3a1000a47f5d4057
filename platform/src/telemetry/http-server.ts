import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { platformTracer } from './tracing.js';

/**
 * The HTTP server span of every request a process receives, in place of
 * @opentelemetry/instrumentation-http's server side (whose cost on every
 * request, recorded or not, was the largest single item of tracing's cost:
 * attributes computed up front, request and response emitters re-bound to the
 * context, response attributes, duration metrics).
 *
 * Here the span comes first: its parent is taken from the W3C headers and the
 * sampler decides (parent-based: a subgraph follows the gateway's flag). An
 * unsampled request then runs in a context holding only that non-recording
 * span — its trace id for the logs and for the next service's `traceparent` —
 * and nothing else is done for it. A sampled one gets the stable HTTP semantic
 * convention attributes (method, scheme, path without the query — GraphQL GET
 * requests carry their variables there —, server address and port, peer
 * address, user agent, status code; `http.route` for /graphql) and
 * ends when the response closes; a 5xx marks it failed.
 *
 * Probes and scrapes (`isOperational`) run with no span at all.
 *
 * The span is made the handler's context by wrapping `emit` of the server
 * prototypes (seams.httpServerEmit says why no public hook does).
 */
type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type Patched = Emit & { __original?: Emit; __suokeServerSpans?: true };

export function traceHttpServers(prototypes: object[], isOperational: (url: string | undefined) => boolean): number {
  let patched = 0;
  for (const prototype of prototypes as Record<string, unknown>[]) {
    const current = prototype.emit as Patched;
    if (typeof current !== 'function' || current.__suokeServerSpans) continue;
    const emit = serverEmit(current, isOperational) as Patched;
    Object.defineProperty(emit, '__suokeServerSpans', { value: true });
    Object.defineProperty(emit, '__original', { value: current });
    prototype.emit = emit;
    patched += 1;
  }
  return patched;
}

function serverEmit(original: Emit, isOperational: (url: string | undefined) => boolean): Emit {
  return function emitWithServerSpan(this: unknown, event: string | symbol) {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments;
    if (event !== 'request') return Reflect.apply(original, this, args);
    const req = args[1] as IncomingMessage;
    const res = args[2] as ServerResponse;
    if (isOperational(req.url)) return context.with(ROOT_CONTEXT, Reflect.apply, undefined, original, this, args) as boolean;
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    const span = platformTracer.startSpan(path === '/graphql' ? `${method} /graphql` : method, { kind: SpanKind.SERVER }, parent);
    const active = trace.setSpan(parent, span);
    if (!span.isRecording()) return context.with(active, Reflect.apply, undefined, original, this, args) as boolean;
    span.setAttributes(requestAttributes(req, method, path));
    res.once('close', () => ended(span, res));
    try {
      return context.with(active, Reflect.apply, undefined, original, this, args) as boolean;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'handler threw' });
      span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
      throw error;
    }
  };
}

function ended(span: Span, res: ServerResponse): void {
  const status = res.statusCode;
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) {
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.setAttribute('error.type', String(status));
  } else if (!res.writableFinished) {
    // The client went away before the response was complete.
    span.setAttribute('error.type', 'aborted');
  }
  span.end();
}

function requestAttributes(req: IncomingMessage, method: string, path: string): Attributes {
  const socket = req.socket;
  const attributes: Attributes = {
    'http.request.method': method,
    'url.scheme': (socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
    'url.path': path,
    'server.port': socket.localPort,
    'network.peer.address': socket.remoteAddress,
  };
  const host = req.headers.host;
  if (host) attributes['server.address'] = hostnameOf(host);
  const userAgent = req.headers['user-agent'];
  if (userAgent) attributes['user_agent.original'] = userAgent;
  if (path === '/graphql') attributes['http.route'] = '/graphql';
  return attributes;
}

/** The path of a request target, without its query (which may hold GraphQL variables or tokens). */
function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** A Host header's name without its port (`[::1]:4000` → `::1`). */
function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(1, end);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

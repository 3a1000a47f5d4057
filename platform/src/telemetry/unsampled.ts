import { context, createContextKey, propagation, trace, TraceFlags, type Context } from '@opentelemetry/api';
import { seams } from '../seams/index.js';

/**
 * Routes work of unsampled requests around the library instrumentations.
 * Each instrumentation replaces a library function with a wrapper that keeps
 * the original as `__original` (shimmer; seams.instrumentationOriginal) and computes attributes, binds
 * callbacks and creates a span whether or not anything will be recorded. The
 * functions here go one layer further out and, inside a request whose span is
 * not sampled (http-server.ts puts that span in the context first), call the
 * original directly:
 *
 * - `http(s).request` / `get`: the unpatched client, with the W3C headers
 *   injected (`traceparent …-00`), so the next service follows the decision
 *   instead of drawing its own; unpatched and without headers in a context
 *   that suppresses tracing (the OTLP exporter's own requests).
 * - graphql `parse` / `validate` / `execute` (seams.graphqlModuleFiles), ioredis
 *   `sendCommand` (seams.ioredisSendCommand): unpatched.
 *   graphql's are also unpatched outside any trace (start-up schema parsing,
 *   background work), which would otherwise start traces of their own.
 * - undici (fetch, and the gateway's subgraph pools) is not patched but
 *   observed through diagnostics channels, by platform (undici-client.ts),
 *   which does the same.
 *
 * Returns the number of functions routed, so a library release that stops
 * keeping `__original` shows (tests/tracing.test.ts asserts it).
 */
type Fn = (this: unknown, ...args: unknown[]) => unknown;
type Patched = Fn & { __original?: Fn; __suokeRouted?: true };

export function routeUnsampled(modules: {
  http: object[];
  graphql: object[];
  redisPrototype?: object;
}): number {
  let routed = 0;
  for (const client of modules.http as Record<string, unknown>[]) {
    for (const name of ['request', 'get']) routed += route(client, name, clientRequest);
  }
  for (const target of modules.graphql as Record<string, unknown>[]) {
    for (const name of ['parse', 'validate', 'execute']) if (name in target) routed += route(target, name, onlyInSampledTrace);
  }
  if (modules.redisPrototype) routed += route(modules.redisPrototype as Record<string, unknown>, 'sendCommand', notInUnsampledTrace);
  return routed;
}

/** True when the active span exists and is not sampled (a valid unsampled trace, or the no-op span of a suppressed context). */
function unsampledActive(active: Context = context.active()): boolean {
  const span = trace.getSpan(active);
  return span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0;
}

function sampledActive(): boolean {
  const span = trace.getSpan(context.active());
  return span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
}

function route(target: Record<string, unknown>, name: string, make: (instrumented: Fn, original: Fn) => Fn): number {
  const instrumented = target[name] as Patched | undefined;
  if (typeof instrumented !== 'function' || instrumented.__suokeRouted || typeof instrumented.__original !== 'function') return 0;
  const routed = make(instrumented, instrumented.__original) as Patched;
  Object.defineProperty(routed, '__suokeRouted', { value: true });
  // Keeps the instrumentation's own unwrap (disable) working on the layer below.
  Object.defineProperty(routed, '__original', { value: instrumented.__original });
  target[name] = routed;
  return 1;
}

function notInUnsampledTrace(instrumented: Fn, original: Fn): Fn {
  return function routedCall(this: unknown) {
    // eslint-disable-next-line prefer-rest-params
    return Reflect.apply(unsampledActive() ? original : instrumented, this, arguments);
  };
}

function onlyInSampledTrace(instrumented: Fn, original: Fn): Fn {
  return function routedCall(this: unknown) {
    // eslint-disable-next-line prefer-rest-params
    return Reflect.apply(sampledActive() ? instrumented : original, this, arguments);
  };
}

/**
 * The key @opentelemetry/core's suppressTracing sets (seams.suppressTracingKey):
 * exporters send their requests in such a context, which must neither be
 * traced nor propagated.
 */
const SUPPRESS_TRACING_KEY = createContextKey(seams.suppressTracingKey.description);
export function tracingSuppressed(active: Context): boolean {
  return active.getValue(SUPPRESS_TRACING_KEY) === true;
}

function clientRequest(instrumented: Fn, original: Fn): Fn {
  return function routedRequest(this: unknown) {
    const active = context.active();
    // eslint-disable-next-line prefer-rest-params
    if (tracingSuppressed(active)) return Reflect.apply(original, this, arguments);
    // eslint-disable-next-line prefer-rest-params
    if (!unsampledActive(active)) return Reflect.apply(instrumented, this, arguments);
    // eslint-disable-next-line prefer-rest-params
    return Reflect.apply(original, this, withPropagationHeaders(active, Array.prototype.slice.call(arguments)));
  };
}

/** http.request's arguments — (url[, options][, callback]) or (options[, callback]) — with the W3C headers of `active` added. */
function withPropagationHeaders(active: Context, args: unknown[]): unknown[] {
  const carrier: Record<string, string> = {};
  propagation.inject(active, carrier);
  if (Object.keys(carrier).length === 0) return args;
  const [first, second] = args;
  if (typeof first === 'string' || first instanceof URL) {
    if (second !== null && typeof second === 'object') args[1] = withHeaders(second as Record<string, unknown>, carrier);
    else args.splice(1, 0, { headers: carrier });
  } else if (first !== null && typeof first === 'object') {
    args[0] = withHeaders(first as Record<string, unknown>, carrier);
  }
  return args;
}

/** A copy of `options` with `carrier` added to its headers (an object, or a raw [name, value, …] array): the caller's object is not changed. */
function withHeaders(options: Record<string, unknown>, carrier: Record<string, string>): Record<string, unknown> {
  const headers = options.headers;
  if (Array.isArray(headers)) return { ...options, headers: [...headers, ...Object.entries(carrier).flat()] };
  return { ...options, headers: { ...(headers as Record<string, unknown> | undefined), ...carrier } };
}

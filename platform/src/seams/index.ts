import { createRequire } from 'node:module';
import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { InstrumentationBase, isWrapped, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { PgPreparedQuery } from 'drizzle-orm/pg-core/session';
import type { Seam } from './seam.js';

export { checkSeams, libraryVersion, type Seam } from './seam.js';

// Platform's reaches into library internals, each with what it relies on and
// why no public API does the job. Code using one names it (seams.<name>);
// platform/test/seams.test.ts runs every check.

const require = createRequire(import.meta.url);

/** The statement method of drizzle's prepared query, which drizzle does not declare. */
export type QueryWithCache = (this: { logger?: Record<symbol, unknown> }, statement: string, params: unknown[], run: () => Promise<unknown>) => Promise<unknown>;

/**
 * telemetry/sql.ts: SQL spans. drizzle's own tracing is compiled out (and would
 * record parameter values), and neither postgres.js nor PGlite has an
 * OpenTelemetry instrumentation; `PgPreparedQuery.prototype.queryWithCache`
 * is the one method both drivers' statements go through.
 */
const drizzlePrototype = (): { queryWithCache?: QueryWithCache } => PgPreparedQuery.prototype as { queryWithCache?: QueryWithCache };
const drizzleQueryWithCache = {
  library: 'drizzle-orm',
  relies: 'PgPreparedQuery.prototype.queryWithCache(statement, params, run), undeclared in its types',
  /** The prototype holding the method (drizzle's types do not declare it). */
  target: drizzlePrototype,
  check(): string | undefined {
    const method = drizzlePrototype().queryWithCache;
    if (typeof method !== 'function') return 'PgPreparedQuery.prototype.queryWithCache is gone';
    if (method.length !== 3) return `queryWithCache takes ${method.length} parameters, not (statement, params, run)`;
    return undefined;
  },
} satisfies Seam & Record<string, unknown>;

/**
 * telemetry/http-server.ts: each request's server span, sampled before the
 * handler runs and made the handler's active context. Node's public
 * `http.server.request.start` diagnostics channel reports the request but
 * cannot run the handler inside a context (it is published, not run through
 * bound stores), and instrumentation-http's server side, which does, was the
 * largest single cost of tracing (http-server.ts). So `emit` of
 * http(s).Server.prototype is wrapped, as instrumentation-http itself does.
 */
const httpServerEmit = {
  library: 'node',
  relies: "http.Server and https.Server delivering requests through prototype.emit('request', req, res)",
  check() {
    const http = require('node:http') as typeof import('node:http');
    const https = require('node:https') as typeof import('node:https');
    for (const [name, server] of [['http', http.Server], ['https', https.Server]] as const) {
      if (typeof server.prototype.emit !== 'function') return `${name}.Server.prototype.emit is not a function`;
    }
    return undefined;
  },
} satisfies Seam;

/**
 * telemetry/unsampled.ts: on unsampled requests, calls the function an
 * OpenTelemetry instrumentation wrapped, skipping its wrapper. The
 * instrumentations (shimmer-style wrapping) keep the original as `__original`
 * (the public ShimWrapped type); no option turns a wrapper off per call.
 */
const instrumentationOriginal = {
  library: '@opentelemetry/instrumentation',
  relies: 'wrapped functions keeping the unwrapped one as `__original` (ShimWrapped, isWrapped)',
  check() {
    const target = { call: () => 'original' };
    const original = target.call;
    new ProbeInstrumentation().wrapCall(target);
    const wrapped: unknown = target.call;
    if (!isWrapped(wrapped)) return 'a wrapped function no longer passes isWrapped';
    if (wrapped.__original !== original) return 'a wrapped function no longer keeps `__original`';
    return undefined;
  },
} satisfies Seam;

/** An instrumentation that wraps one function as every instrumentation does (its protected `_wrap`). */
class ProbeInstrumentation extends InstrumentationBase<InstrumentationConfig> {
  constructor() {
    super('@suoke/platform/seams-probe', '0.0.0', { enabled: false });
  }
  protected init(): [] {
    return [];
  }
  wrapCall(target: { call: () => string }): void {
    this._wrap(target, 'call', (original) => () => original());
  }
}

/** telemetry/unsampled.ts routes ioredis commands of unsampled requests around instrumentation-ioredis's wrapper of this method. */
const ioredisSendCommand = {
  library: 'ioredis',
  relies: 'Redis.prototype.sendCommand, the method instrumentation-ioredis wraps',
  check() {
    const Redis = require('ioredis') as { prototype: { sendCommand?: unknown } };
    return typeof Redis.prototype.sendCommand === 'function' ? undefined : 'Redis.prototype.sendCommand is gone';
  },
} satisfies Seam;

/** The CommonJS files whose exports instrumentation-graphql wraps, and unsampled.ts routes around. */
export const GRAPHQL_MODULES = { 'graphql/language/parser.js': 'parse', 'graphql/validation/validate.js': 'validate', 'graphql/execution/execute.js': 'execute' } as const;

/** telemetry/instrument.ts and unsampled.ts: graphql's parse, validate and execute, by the files that define them. */
const graphqlModuleFiles = {
  library: 'graphql',
  relies: `${Object.keys(GRAPHQL_MODULES).join(', ')} exporting parse, validate, execute (instrumentation-graphql wraps them there)`,
  check() {
    for (const [id, name] of Object.entries(GRAPHQL_MODULES)) {
      if (typeof (require(id) as Record<string, unknown>)[name] !== 'function') return `${id} no longer exports ${name}`;
    }
    return undefined;
  },
} satisfies Seam;

/**
 * telemetry/unsampled.ts, undici-client.ts: requests the SDK's exporters send
 * run in a context that suppresses tracing; they must be neither traced nor
 * propagated. @opentelemetry/core's isTracingSuppressed says so, but platform
 * does not depend on core (the SDK carries its own copy): the key is read
 * under its name instead (context keys are `Symbol.for(description)`).
 */
const SUPPRESS_TRACING_DESCRIPTION = 'OpenTelemetry SDK Context Key SUPPRESS_TRACING';
const suppressTracingKey = {
  library: '@opentelemetry/sdk-trace-node',
  relies: `@opentelemetry/core's suppressTracing setting the context key "${SUPPRESS_TRACING_DESCRIPTION}" to true`,
  description: SUPPRESS_TRACING_DESCRIPTION,
  check() {
    const fromSdk = createRequire(require.resolve('@opentelemetry/sdk-trace-node'));
    const core = fromSdk('@opentelemetry/core') as { suppressTracing(context: Context): Context };
    const suppressed = core.suppressTracing(ROOT_CONTEXT);
    return suppressed.getValue(Symbol.for(SUPPRESS_TRACING_DESCRIPTION)) === true ? undefined : 'suppressTracing no longer sets that key';
  },
} satisfies Seam & Record<string, unknown>;

/** Every seam platform relies on, by name. */
export const seams = {
  drizzleQueryWithCache,
  httpServerEmit,
  instrumentationOriginal,
  ioredisSendCommand,
  graphqlModuleFiles,
  suppressTracingKey,
};

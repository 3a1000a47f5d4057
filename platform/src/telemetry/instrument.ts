import { createRequire, syncBuiltinESMExports } from 'node:module';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { GRAPHQL_MODULES } from '../seams/index.js';
import { traceHttpServers } from './http-server.js';
import { traceUndiciRequests } from './undici-client.js';
import { routeUnsampled } from './unsampled.js';

/**
 * Patches the libraries whose spans we want: node:http (server: platform's own
 * span, http-server.ts; client: instrumentation-http), global fetch and undici
 * pools (platform's client span from undici's diagnostics channels,
 * undici-client.ts: the gateway's subgraph fetches, and a subgraph calling an
 * outside API, e.g. a model provider, passes the trace on), graphql (parse,
 * validate, execute) and ioredis. It must run
 * before any of them is loaded, which in an ESM program means from a module
 * imported before everything else (`import '@suoke/platform/telemetry/start'`,
 * the first line of every index.ts): static imports are evaluated in order, so
 * the libraries imported after it load patched. start.ts calls it only when
 * spans will be exported; tests call it themselves.
 *
 * The patching uses require hooks (require-in-the-middle), which ESM imports do
 * not go through; so the patched modules are loaded here once through
 * `require`. ESM importers of a CommonJS package get the same, already patched,
 * `module.exports` (graphql's and ioredis's main entries are CommonJS), and
 * node:http's exports object is shared by `require` and `import`. This avoids
 * needing the import-in-the-middle loader (`--import …/hook.mjs`) on every
 * command line; tests/tracing.test.ts checks the resulting spans.
 *
 * Options chosen for cost (bench/scenarios/tracing.mjs measures them):
 * - Sampling first: each request's server span is sampled before anything else
 *   runs, and an unsampled request takes the unpatched path of every library
 *   below (unsampled.ts): it costs one span decision, not a non-recording span
 *   per library call.
 * - http server: instrumentation-http's server side is off; see http-server.ts
 *   for what replaces it and why (likewise undici-client.ts for
 *   instrumentation-undici). node:http client: outgoing requests traced only
 *   inside a trace; GraphQL GET parameters (query, variables) redacted from URLs.
 * - graphql: `ignoreResolveSpans` — the instrumentation would otherwise wrap
 *   every field of the schema, trivial property reads included (0.27× throughput
 *   measured in DESIGN.md). Resolver spans come from platform's own wrapper
 *   (telemetry/subgraph.ts), applied only to fields with an explicit resolver
 *   and doing nothing on unsampled requests. `ignoreTrivialResolveSpans` would
 *   not help: Apollo Server's plugin wrapper makes every resolver look non-trivial.
 *   parse/validate/execute spans only inside a sampled trace.
 * - ioredis: the command name only — keys carry user ids and e-mail addresses.
 */
export function enableInstrumentation(): boolean {
  const state = globalState();
  if (state.enabled) return false;
  state.enabled = true;
  const redacted = ['query', 'variables', 'extensions', 'token', 'access_token', 'code'];
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({ disableIncomingRequestInstrumentation: true, requireParentforOutgoingSpans: true, redactedQueryParams: redacted }),
      new GraphQLInstrumentation({ ignoreResolveSpans: true, allowValues: false }),
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command: string) => command }),
    ],
  });
  const require = createRequire(import.meta.url);
  const http = require('node:http') as typeof import('node:http');
  const https = require('node:https') as typeof import('node:https');
  require('graphql');
  state.serverSpans = traceHttpServers([http.Server.prototype, https.Server.prototype], isOperationalPath);
  traceUndiciRequests();
  state.routed = routeUnsampled({
    http: [http, https],
    graphql: Object.keys(GRAPHQL_MODULES).map((id) => require(id) as object),
    redisPrototype: (require('ioredis') as { prototype: object }).prototype,
  });
  // `import { request } from 'node:http'` sees the wrapped functions too.
  syncBuiltinESMExports();
  return true;
}

/** What enableInstrumentation patched: server prototypes given server spans, library functions routed around on unsampled requests. */
export function instrumentationState(): { enabled: boolean; serverSpans: number; routed: number } {
  return { ...globalState() };
}

/** Whether enableInstrumentation has run in this process (whichever copy of this module ran it). */
export function instrumentationEnabled(): boolean {
  return globalState().enabled;
}

function isOperationalPath(url: string | undefined): boolean {
  return url !== undefined && (url.startsWith('/health/') || url === '/metrics' || url.startsWith('/metrics?'));
}

// Tests load platform from its sources and services from dist in the same process
// only by mistake, but patching twice would nest every span: keep the flag global.
interface State {
  enabled: boolean;
  serverSpans: number;
  routed: number;
}
const STATE = Symbol.for('suoke.telemetry.instrumentation');
function globalState(): State {
  let held = Reflect.get(globalThis, STATE) as State | undefined;
  if (!held) Reflect.set(globalThis, STATE, (held = { enabled: false, serverSpans: 0, routed: 0 }));
  return held;
}

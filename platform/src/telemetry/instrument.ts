import { createRequire } from 'node:module';
import type { IncomingMessage } from 'node:http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

/**
 * Patches the libraries whose spans we want: node:http (server and client),
 * global fetch (undici, through diagnostics channels: a subgraph calling an
 * outside API, e.g. a model provider, passes the trace on), graphql (parse,
 * validate, execute) and ioredis. It must run before any of
 * them is loaded, which in an ESM program means from a module imported before
 * everything else (`import '@suoke/platform/telemetry/start'`, the first line of
 * every index.ts): static imports are evaluated in order, so the libraries
 * imported after it load patched.
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
 * - graphql: `ignoreResolveSpans` — the instrumentation would otherwise wrap
 *   every field of the schema, trivial property reads included (0.27× throughput
 *   measured in DESIGN.md). Resolver spans come from platform's own wrapper
 *   (telemetry/resolvers.ts), applied only to fields with an explicit resolver
 *   and doing nothing on unsampled requests. `ignoreTrivialResolveSpans` would
 *   not help: Apollo Server's plugin wrapper makes every resolver look non-trivial.
 * - http: no spans for probes and scrapes; GraphQL GET parameters (query,
 *   variables) redacted from URLs; outgoing requests traced only inside a trace.
 * - ioredis: the command name only — keys carry user ids and e-mail addresses.
 */
export function enableInstrumentation(): boolean {
  const state = globalState();
  if (state.enabled) return false;
  state.enabled = true;
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req: IncomingMessage) => isOperationalPath(req.url),
        requireParentforOutgoingSpans: true,
        redactedQueryParamsServer: ['query', 'variables', 'extensions', 'token', 'access_token', 'code'],
        redactedQueryParams: ['query', 'variables', 'extensions', 'token', 'access_token', 'code'],
      }),
      new UndiciInstrumentation({ requireParentforSpans: true }),
      new GraphQLInstrumentation({ ignoreResolveSpans: true, allowValues: false }),
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command: string) => command }),
    ],
  });
  const require = createRequire(import.meta.url);
  for (const id of ['node:http', 'node:https', 'graphql', 'ioredis']) require(id);
  return true;
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
const STATE = Symbol.for('suoke.telemetry.instrumentation');
function globalState(): { enabled: boolean } {
  const holder = globalThis as unknown as Record<symbol, { enabled: boolean } | undefined>;
  return (holder[STATE] ??= { enabled: false });
}

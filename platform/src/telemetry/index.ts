// Telemetry: traces of every process (tracing.ts, the provider and its config
// slice, OTEL_*), the instrumentations loaded first (start.ts, the process
// entry `@suoke/platform/telemetry/start`; instrument.ts), the HTTP server and
// undici client spans, a subgraph's resolver, DataLoader (subgraph.ts) and SQL
// (sql.ts) spans. The only module other code imports from this folder, with
// boot.ts: the part that must load before graphql (re-exported here too).
export {
  startTracing,
  tracingActive,
  flushTracing,
  sampledContext,
  platformTracer,
  tracesExported,
  samplerFrom,
  exporterFrom,
  otlpTracesEndpoint,
  batchDefaults,
  type Tracing,
  type TracingConfig,
  type TracingOptions,
} from './tracing.js';
export { enableInstrumentation, instrumentationEnabled, instrumentationState } from './instrument.js';
export { ParentBasedTracerProvider } from './provider.js';
export { traceResolvers, explicitResolverCoordinates, instrumentLoaders, InstrumentableLoader, failed } from './subgraph.js';
export { observeDrizzleQueries, tracedStatement, operationOf, QUERY_OBSERVER, type QueryObserver } from './sql.js';

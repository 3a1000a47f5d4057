// The part of telemetry that must load before graphql: switching the
// instrumentations on and the tracer provider. index.ts loads graphql (resolver
// spans), so a process or test that patches graphql imports this first; it is
// the folder's second public face, and index.ts re-exports all of it.
export { enableInstrumentation, instrumentationEnabled, instrumentationState } from './instrument.js';
export { flushTracing, platformTracer, startTracing, tracesExported } from './tracing.js';

export * from './audit/index.js';
export * from './auth/index.js';
export * from './config.js';
export * from './db.js';
export * from './errors.js';
export * from './http.js';
export * from './http-edge.js';
export * from './compression.js';
export * from './metrics-endpoint.js';
export * from './loaders.js';
export * from './logger.js';
export * from './migrate.js';
export { fragmentSDL, linkedSpecUrls, withFeatureFragments } from './fragments.js';
export * from './nul-guard.js';
export * from './process-guard.js';
export * from './pagination.js';
export * from './request-context.js';
export * from './scalars.js';
export * from './subgraph/index.js';
export * from './cache.js';
export * from './entity-cache.js';
export * from './sql.js';
export * from './rate-limit/index.js';
export * from './resilience/index.js';
export * from './graphql/index.js';
export * from './metrics.js';
export * from './operation-outcome.js';
export * from './service-client.js';
export {
  startTracing,
  tracingActive,
  flushTracing,
  sampledContext,
  platformTracer,
  traceResolvers,
  explicitResolverCoordinates,
  instrumentLoaders,
  InstrumentableLoader,
  type Tracing,
  type TracingConfig,
} from './telemetry/index.js';
export { checkSeams, libraryVersion, seams, type Seam } from './seams/index.js';
export * from './live/index.js';
export * from './jobs/index.js';
export type { SubgraphFeature } from './feature.js';

import { audit, defineSubgraph, rateLimit } from '@suoke/platform';
import { loadDiagnosisConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { createResolvers } from './resolvers/index.js';
import { diagnosisRuntime } from './runtime.js';

/** How runSubgraph, the dev runner, scripts and tests start the diagnosis subgraph. */
export const definition = defineSubgraph({
  name: 'diagnosis',
  schema: new URL('../src/schema.graphql', import.meta.url),
  loadConfig: loadDiagnosisConfig,
  migrations: new URL('../src/db/migrations/', import.meta.url),
  features: [audit, rateLimit],
  runtime: diagnosisRuntime,
  resolvers: ({ config, services }) => createResolvers({ saga: services.saga, sagaWaitMs: config.SAGA_WAIT_MS, media: services.media }),
  loaders: createLoaders,
  signingKeys: true,
});

/** Builds the diagnosis subgraph without listening; index.ts and tests call `listen`. */
export const createDiagnosisSubgraph = definition.create;
export type DiagnosisSubgraph = ReturnType<typeof createDiagnosisSubgraph>;
export const typeDefs = definition.typeDefs;
export const migrate = definition.migrate;
export { loadDiagnosisConfig };

import { audit, defineSubgraph, rateLimit } from '@suoke/platform';
import { loadHealthConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { createResolvers } from './resolvers/index.js';
import { healthRuntime } from './runtime.js';

/** How runSubgraph, the dev runner, scripts and tests start the health subgraph. */
export const definition = defineSubgraph({
  name: 'health',
  schema: new URL('../src/schema.graphql', import.meta.url),
  loadConfig: loadHealthConfig,
  migrations: new URL('../src/db/migrations/', import.meta.url),
  features: [audit, rateLimit],
  runtime: healthRuntime,
  resolvers: ({ services }) => createResolvers({ bounds: services.bounds }),
  loaders: (database, _user, _entities, { services }) => createLoaders(database, services.bounds),
});

/** Builds the health subgraph without listening; index.ts and tests call `listen`. */
export const createHealthSubgraph = definition.create;
export type HealthSubgraph = ReturnType<typeof createHealthSubgraph>;
export const typeDefs = definition.typeDefs;
export const migrate = definition.migrate;
export { loadHealthConfig };

import { defineSubgraph, rateLimit } from '@suoke/platform';
import { loadUserConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { createResolvers } from './resolvers/index.js';

/** How runSubgraph, the dev runner, scripts and tests start the user subgraph. */
export const definition = defineSubgraph({
  name: 'user',
  schema: new URL('../src/schema.graphql', import.meta.url),
  loadConfig: loadUserConfig,
  migrations: new URL('../src/db/migrations/', import.meta.url),
  features: [rateLimit],
  resolvers: ({ config }) => createResolvers(config),
  loaders: createLoaders,
  signingKeys: true,
});

/** Builds the user subgraph without listening; index.ts and tests call `listen`. */
export const createUserSubgraph = definition.create;
export const typeDefs = definition.typeDefs;
export const migrate = definition.migrate;
export { loadUserConfig };

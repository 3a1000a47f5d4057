import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { createSubgraph, signingKeyRing, type Database, type Logger, type RateLimitStore, type SubgraphDefinition } from '@suoke/platform';
import { loadUserConfig, type UserConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { migrate } from './migrate.js';
import { createResolvers } from './resolvers/index.js';

export const typeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

/** Builds the user subgraph without listening; index.ts and tests call `listen`. */
export function createUserSubgraph(options: { config: UserConfig; database: Database; log?: Logger; rateLimitStore?: RateLimitStore }) {
  return createSubgraph({
    name: 'user',
    typeDefs,
    resolvers: createResolvers(options.config),
    config: options.config,
    database: options.database,
    createLoaders,
    signingKeys: signingKeyRing('user', options.config),
    ...(options.log ? { log: options.log } : {}),
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
  });
}


/** How the dev runner, scripts and end-to-end tests start this subgraph. */
export const definition: SubgraphDefinition<UserConfig> = {
  name: 'user',
  loadConfig: loadUserConfig,
  create: createUserSubgraph,
  migrate,
};

export { loadUserConfig, migrate };

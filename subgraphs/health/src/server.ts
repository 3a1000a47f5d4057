import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { createSubgraph, type Database, type Logger, type RateLimitStore, type SubgraphDefinition } from '@suoke/platform';
import { loadHealthConfig, type HealthConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { migrate } from './migrate.js';
import { createResolvers } from './resolvers/index.js';

export const typeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

/** Builds the health subgraph without listening; index.ts and tests call `listen`. */
export function createHealthSubgraph(options: { config: HealthConfig; database: Database; log?: Logger; rateLimitStore?: RateLimitStore }) {
  return createSubgraph({
    name: 'health',
    typeDefs,
    resolvers: createResolvers(),
    config: options.config,
    database: options.database,
    createLoaders,
    ...(options.log ? { log: options.log } : {}),
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
  });
}


/** How the dev runner, scripts and end-to-end tests start this subgraph. */
export const definition: SubgraphDefinition<HealthConfig> = {
  name: 'health',
  loadConfig: loadHealthConfig,
  create: createHealthSubgraph,
  migrate,
};

export { loadHealthConfig, migrate };

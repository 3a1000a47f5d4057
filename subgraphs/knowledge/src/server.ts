import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { createSubgraph, type Database, type Logger, type SubgraphDefinition } from '@suoke/platform';
import { loadKnowledgeConfig, type KnowledgeConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { migrate } from './migrate.js';
import { createResolvers } from './resolvers/index.js';

export const typeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

/** PGlite loads pg_trgm as a contrib extension; on PostgreSQL the migration creates it. */
export const pgliteExtensions: Record<string, unknown> = { pg_trgm };

/** Builds the knowledge subgraph without listening; index.ts and tests call `listen`. */
export function createKnowledgeSubgraph(options: { config: KnowledgeConfig; database: Database; log?: Logger }) {
  return createSubgraph({
    name: 'knowledge',
    typeDefs,
    resolvers: createResolvers(),
    config: options.config,
    database: options.database,
    createLoaders,
    ...(options.log ? { log: options.log } : {}),
  });
}

/** How the dev runner, scripts and end-to-end tests start this subgraph. */
export const definition: SubgraphDefinition<KnowledgeConfig> = {
  name: 'knowledge',
  loadConfig: loadKnowledgeConfig,
  create: createKnowledgeSubgraph,
  migrate,
  pgliteExtensions,
};

export { loadKnowledgeConfig, migrate };

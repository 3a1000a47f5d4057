import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { defineSubgraph, rateLimit, type Database } from '@suoke/platform';
import { loadKnowledgeConfig } from './config.js';
import { content } from './content/index.js';
import { syncContent } from './db/sync.js';
import { createLoaders } from './loaders.js';
import { createResolvers } from './resolvers/index.js';

/** How runSubgraph, the dev runner, scripts and tests start the knowledge subgraph. */
export const definition = defineSubgraph({
  name: 'knowledge',
  schema: new URL('../src/schema.graphql', import.meta.url),
  loadConfig: loadKnowledgeConfig,
  migrations: new URL('../src/db/migrations/', import.meta.url),
  features: [rateLimit],
  // The reference content in src/content/ is needed in every environment, so it ships with `migrate`, not with
  // the development seed. Re-running changes nothing.
  afterMigrate: async (database: Database) => ({ content: await syncContent(database, content) }),
  resolvers: createResolvers(),
  loaders: createLoaders,
  // PGlite loads pg_trgm as a contrib extension; on PostgreSQL the migration creates it.
  pgliteExtensions: { pg_trgm },
});

/** Builds the knowledge subgraph without listening; index.ts and tests call `listen`. */
export const createKnowledgeSubgraph = definition.create;
export const typeDefs = definition.typeDefs;
export const migrate = definition.migrate;
export const pgliteExtensions = definition.pgliteExtensions;
export { loadKnowledgeConfig };

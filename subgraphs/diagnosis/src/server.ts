import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { createSubgraph, type Database, type Logger, type SubgraphDefinition } from '@suoke/platform';
import { loadDiagnosisConfig, type DiagnosisConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { migrate } from './migrate.js';
import { createResolvers } from './resolvers/index.js';

export const typeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

/** Builds the diagnosis subgraph without listening; index.ts and tests call `listen`. */
export function createDiagnosisSubgraph(options: { config: DiagnosisConfig; database: Database; log?: Logger }) {
  return createSubgraph({
    name: 'diagnosis',
    typeDefs,
    resolvers: createResolvers(),
    config: options.config,
    database: options.database,
    createLoaders,
    ...(options.log ? { log: options.log } : {}),
  });
}

/** How the dev runner, scripts and end-to-end tests start this subgraph. */
export const definition: SubgraphDefinition<DiagnosisConfig> = {
  name: 'diagnosis',
  loadConfig: loadDiagnosisConfig,
  create: createDiagnosisSubgraph,
  migrate,
};

export { loadDiagnosisConfig, migrate };

import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { createJobEngine, createLogger, createSubgraph, type Database, type Logger, type RateLimitStore, type SubgraphDefinition } from '@suoke/platform';
import { loadHealthConfig, type HealthConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { migrate } from './migrate.js';
import { createResolvers } from './resolvers/index.js';
import { PartitionJob } from './service/partitions.js';

export const typeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

/** Builds the health subgraph without listening; index.ts and tests call `listen`. */
export function createHealthSubgraph(options: { config: HealthConfig; database: Database; log?: Logger; rateLimitStore?: RateLimitStore }) {
  const { config } = options;
  const log =
    options.log ?? createLogger({ service: 'health', level: config.LOG_LEVEL, format: config.LOG_FORMAT, nodeEnv: config.NODE_ENV, file: config.LOG_FILE });
  const bounds = { maxAgeMonths: config.OBSERVATION_MAX_AGE_MONTHS, maxFutureMs: config.OBSERVATION_MAX_FUTURE_MS };
  // The subgraph's jobs live in its own schema, next to its data.
  const jobs = createJobEngine({
    database: options.database,
    schema: 'health_jobs',
    log,
    pollIntervalMs: config.JOBS_POLL_INTERVAL_MS,
    maintenanceIntervalSeconds: config.JOBS_MAINTENANCE_INTERVAL_SECONDS,
  });
  const partitions = new PartitionJob({
    database: options.database,
    policy: { maxAgeMonths: config.OBSERVATION_MAX_AGE_MONTHS, aheadMonths: config.OBSERVATION_PARTITIONS_AHEAD_MONTHS, cron: config.OBSERVATION_PARTITION_CRON },
    log,
    engine: jobs,
  });
  const subgraph = createSubgraph({
    name: 'health',
    typeDefs,
    resolvers: createResolvers({ bounds }),
    config,
    database: options.database,
    createLoaders: (database) => createLoaders(database, bounds),
    log,
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
  });
  jobs.metrics(subgraph.metrics.registry);
  return {
    ...subgraph,
    partitions,
    jobs,
    async listen(port?: number, host?: string) {
      const bound = await subgraph.listen(port, host);
      // The engine installs or migrates its schema here: a process that cannot keep its partitions fails at start.
      await partitions.start();
      return bound;
    },
    async stop() {
      await subgraph.stop();
      await partitions.stop();
    },
  };
}

export type HealthSubgraph = ReturnType<typeof createHealthSubgraph>;

/** How the dev runner, scripts and end-to-end tests start this subgraph. */
export const definition: SubgraphDefinition<HealthConfig> = {
  name: 'health',
  loadConfig: loadHealthConfig,
  create: createHealthSubgraph,
  migrate,
};

export { loadHealthConfig, migrate };

import { createJobEngine, type Subgraph, type SubgraphSetup } from '@suoke/platform';
import type { HealthConfig } from './config.js';
import { PartitionJob } from './service/partitions.js';

/** The observation partitions, kept by a job on the subgraph's own job engine (schema health_jobs, next to its data). */
export function healthRuntime({ config, database, log }: SubgraphSetup<HealthConfig, object>) {
  const bounds = { maxAgeMonths: config.OBSERVATION_MAX_AGE_MONTHS, maxFutureMs: config.OBSERVATION_MAX_FUTURE_MS };
  const jobs = createJobEngine({
    database,
    schema: 'health_jobs',
    log,
    pollIntervalMs: config.JOBS_POLL_INTERVAL_MS,
    maintenanceIntervalSeconds: config.JOBS_MAINTENANCE_INTERVAL_SECONDS,
  });
  const partitions = new PartitionJob({
    database,
    policy: { maxAgeMonths: config.OBSERVATION_MAX_AGE_MONTHS, aheadMonths: config.OBSERVATION_PARTITIONS_AHEAD_MONTHS, cron: config.OBSERVATION_PARTITION_CRON },
    log,
    engine: jobs,
  });
  return {
    services: { partitions, jobs, bounds },
    extend: (subgraph: Subgraph<unknown>) => {
      jobs.metrics(subgraph.metrics.registry);
      return {
        // The engine installs or migrates its schema here: a process that cannot keep its partitions fails at start.
        afterListen: () => partitions.start(),
        stop: () => partitions.stop(),
      };
    },
  };
}

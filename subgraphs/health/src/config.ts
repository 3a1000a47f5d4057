import { jobsEnv, loadConfig, subgraphEnv, z, type SubgraphConfig } from '@suoke/platform';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** The health subgraph's variables: the platform's, and the bounds and upkeep of the observations' monthly partitions. */
const env = subgraphEnv(4002).extend(jobsEnv.shape).extend({
  /**
   * How far back `recordedAt` may be: from the start of the UTC month this many months before the current
   * one. It is also the lower bound of a timeline read without `from` (older rows stay readable with `from`).
   * The migration pre-creates the default window (24 months); a wider one is created by the job at start.
   * Each month of the window is a partition that a timeline read without `from` plans (the statement
   * reads only the newest it needs, but PostgreSQL plans them all): at 124 partitions the health
   * reads of one request cost ~6x their cost at a handful (bench/RESULTS.md), so widen it knowingly.
   */
  OBSERVATION_MAX_AGE_MONTHS: int(1, 600, 24),
  /** How far ahead of now `recordedAt` may be (device clocks drift); 5 minutes at most. */
  OBSERVATION_MAX_FUTURE_MS: int(0, 300_000, 300_000),
  /** Monthly partitions kept ready past the current month; a write never creates one. */
  OBSERVATION_PARTITIONS_AHEAD_MONTHS: int(1, 24, 3),
  /**
   * When the partition job runs, as a cron expression in UTC (default: 17 minutes past every hour), on the job
   * engine: one replica runs each occurrence. It also runs at start; empty: at start only.
   */
  OBSERVATION_PARTITION_CRON: z.string().trim().default('17 * * * *'),
});

export type HealthConfig = SubgraphConfig & z.infer<typeof env>;

export function loadHealthConfig(source: NodeJS.ProcessEnv = process.env): HealthConfig {
  return loadConfig('health', env, source);
}

import { sql } from 'drizzle-orm';
import { rowsOf, type Database, type JobEngine, type Logger } from '@suoke/platform';
import { monthStart } from './ingest.js';

/**
 * Upkeep of the observations' monthly partitions: every month that a write
 * may name (the recording window, OBSERVATION_MAX_AGE_MONTHS back, up to
 * OBSERVATION_PARTITIONS_AHEAD_MONTHS past the current month) has its
 * partition before any write needs it. It is a job on the subgraph's job
 * engine (pg-boss in schema `health_jobs`): run at start and scheduled by
 * cron, so one replica runs each occurrence, a failed run is retried with
 * backoff, and a run whose process died is taken up by another. It is
 * idempotent, and concurrent runs serialise in the database. A write never
 * creates a partition: the DDL's lock on the parent table would stop every
 * reader and writer for as long as the write's transaction lasted.
 */

export const PARTITION_QUEUE = 'observation-partitions';

export interface PartitionPolicy {
  maxAgeMonths: number;
  aheadMonths: number;
  /** Cron expression (UTC) of the scheduled runs; empty: none (the job still runs once at start). */
  cron: string;
}

/** Creates the missing partitions of the window around `now`; returns how many it created. */
export async function maintainPartitions(database: Database, policy: Pick<PartitionPolicy, 'maxAgeMonths' | 'aheadMonths'>, now = new Date()): Promise<number> {
  const first = monthStart(now, -policy.maxAgeMonths);
  const last = monthStart(now, policy.aheadMonths);
  const result = await database.db.execute(
    sql`select "health".create_observation_partitions(${first.toISOString()}::timestamptz, ${last.toISOString()}::timestamptz) as created`,
  );
  return rowsOf<{ created: number }>(result)[0]?.created ?? 0;
}

export class PartitionJob {
  private running: Promise<void> | undefined;
  readonly stats = { runs: 0, created: 0, failures: 0 };

  constructor(private readonly deps: { database: Database; policy: PartitionPolicy; log: Logger; engine: JobEngine }) {
    deps.engine.define({
      name: PARTITION_QUEUE,
      // A failed run is retried (30 s, 60 s, … backoff) before the next scheduled one comes round.
      retryLimit: 6,
      retryDelaySeconds: 30,
      expireInSeconds: 600,
      handler: () => this.attempt(),
    });
  }

  /**
   * Starts the engine, schedules the runs, and runs once now, before the subgraph serves (a run at start that
   * fails is handed to the queue, which retries it with backoff).
   */
  async start(): Promise<void> {
    const { engine, policy } = this.deps;
    await engine.start();
    if (policy.cron) await engine.schedule(PARTITION_QUEUE, policy.cron);
    else await engine.boss.unschedule(PARTITION_QUEUE);
    await this.attempt().catch(() => engine.send(PARTITION_QUEUE, { reason: 'start' }));
  }

  /** One run here and now, outside the queue (a run already under way is joined, not repeated); never rejects. */
  run(): Promise<void> {
    this.running ??= this.attempt()
      .catch(() => undefined)
      .finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    await this.running;
    await this.deps.engine.stop();
  }

  private async attempt(): Promise<void> {
    const { database, policy, log } = this.deps;
    try {
      const created = await maintainPartitions(database, policy);
      this.stats.runs += 1;
      this.stats.created += created;
      if (created > 0) log.info({ created, aheadMonths: policy.aheadMonths }, 'observation partitions created');
    } catch (error) {
      // Writes for months past the partitions made so far would be refused (nothing lost): say so loudly.
      this.stats.failures += 1;
      log.error({ err: error, aheadMonths: policy.aheadMonths }, 'observation partition job failed; writes beyond the prepared months will be refused until it succeeds');
      throw error;
    }
  }
}

import { sql } from 'drizzle-orm';
import { rowsOf, type Database, type Logger } from '@suoke/platform';
import { monthStart } from './ingest.js';

/**
 * Upkeep of the observations' monthly partitions: every month that a write
 * may name (the recording window, OBSERVATION_MAX_AGE_MONTHS back, up to
 * OBSERVATION_PARTITIONS_AHEAD_MONTHS past the current month) has its
 * partition before any write needs it. It runs at start and on a timer in
 * this process for now (a job engine takes it over later); it is idempotent,
 * and concurrent runs (replicas) serialise in the database. A write never
 * creates a partition: the DDL's lock on the parent table would stop every
 * reader and writer for as long as the write's transaction lasted.
 */

export interface PartitionPolicy {
  maxAgeMonths: number;
  aheadMonths: number;
  /** 0: no timer (the job still runs once at start). */
  intervalMs: number;
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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  readonly stats = { runs: 0, created: 0, failures: 0 };

  constructor(private readonly deps: { database: Database; policy: PartitionPolicy; log: Logger }) {}

  /** Runs now and every `intervalMs`. */
  start(): void {
    if (this.timer || this.running) return;
    void this.run();
    if (this.deps.policy.intervalMs > 0) {
      this.timer = setInterval(() => void this.run(), this.deps.policy.intervalMs);
      this.timer.unref();
    }
  }

  /** One run (a run already under way is joined, not repeated); never rejects. */
  run(): Promise<void> {
    this.running ??= this.once().finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async once(): Promise<void> {
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
    }
  }
}

import type { Database, Logger } from '@suoke/platform';
import {
  beginCompensation,
  claimSaga,
  finishSaga,
  LeaseLost,
  recordStep,
  releaseSaga,
  selectOrphanedSagas,
  selectReport,
  selectSagaSteps,
  type HeldSaga,
} from '../db/saga.js';
import type { ReportRow, SagaStepName } from '../db/schema.js';

/**
 * The consultation follow-up saga. A completed consultation's report is
 * stored PENDING with a RUNNING saga (one transaction); then:
 *   EXPLAIN  the agent writes XiaoAI's explanation      (compensation: retract it)
 *   NOTIFY   the user gets "your report is ready"       (compensation: retract it)
 * and the report is PUBLISHED. When a step fails for good, the steps begun
 * are compensated in reverse order and the report ends FAILED with a reason;
 * `retryReport` runs it again as the next attempt.
 *
 * Every step is called with a key derived from (report, attempt, step), and
 * the services called are idempotent by that key, so a step may be repeated
 * safely: after a crash, a lapsed lease lets any replica resume the saga, and
 * a step whose outcome was unknown is either run again (no duplicate) or
 * compensated (a tombstone, even if it never happened).
 */

export interface StepCall {
  /** The idempotency key of this step in this attempt. */
  key: string;
  report: ReportRow;
}

export interface SagaStep {
  name: SagaStepName;
  /** What a user may read in the report's `statusReason` when this step failed. */
  failureReason: string;
  run(call: StepCall): Promise<unknown>;
  compensate(call: StepCall): Promise<void>;
}

/** A step's failure; `transient` ones are retried within the attempt, the others end it at once. */
export interface StepFailure {
  transient: boolean;
  message: string;
}

export interface SagaPolicy {
  /** Tries per step call (and per compensation) before giving up, the first included. */
  attempts: number;
  /** Backoff before retry n is a random delay up to baseDelayMs × 2^(n−1). */
  baseDelayMs: number;
  /** How long a claim holds the saga; each recorded step extends it. */
  leaseMs: number;
  /** How often unfinished sagas whose runner is gone are looked for; 0 turns the sweep off. */
  sweepMs: number;
}

export function stepKey(reportId: string, attempt: number, step: SagaStepName): string {
  return `report:${reportId}:${attempt}:${step.toLowerCase()}`;
}

export class ReportSaga {
  private readonly running = new Map<string, Promise<void>>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly stats = { published: 0, failed: 0, resumed: 0, stepRetries: 0 };

  constructor(
    private readonly deps: {
      database: Database;
      steps: readonly SagaStep[];
      policy: SagaPolicy;
      log: Logger;
      classify: (error: unknown) => StepFailure;
      sleep?: (ms: number) => Promise<void>;
      /** Told each committed status change of a report (`reportUpdated`); never throws. */
      announce?: (report: ReportRow) => Promise<void>;
    },
  ) {}

  /** Announces a report's committed status change to its subscribers. */
  async announce(report: ReportRow | undefined): Promise<void> {
    if (report) await this.deps.announce?.(report);
  }

  /** Drives the report's saga as far as it goes now; one run per report at a time in this process. */
  run(reportId: string): Promise<void> {
    const current = this.running.get(reportId);
    if (current) return current;
    const run = this.drive(reportId).finally(() => this.running.delete(reportId));
    this.running.set(reportId, run);
    return run;
  }

  /** Looks for orphaned sagas now and every `sweepMs`. */
  startSweeping(): void {
    if (this.deps.policy.sweepMs <= 0 || this.sweepTimer) return;
    const sweep = () => {
      this.sweep().catch((error: unknown) => this.deps.log.error({ err: error }, 'saga sweep failed'));
    };
    sweep();
    this.sweepTimer = setInterval(sweep, this.deps.policy.sweepMs);
    this.sweepTimer.unref();
  }

  /** Resumes every unfinished saga nobody holds; returns how many were taken. */
  async sweep(limit = 50): Promise<number> {
    if (this.stopped) return 0;
    const orphans = (await selectOrphanedSagas(this.deps.database, limit)).filter((id) => !this.running.has(id));
    if (orphans.length > 0) this.deps.log.info({ sagas: orphans.length }, 'resuming unfinished report sagas');
    this.stats.resumed += orphans.length;
    await Promise.all(orphans.map((id) => this.run(id)));
    return orphans.length;
  }

  /** Stops sweeping and waits for the runs in progress (each ends at its next step boundary at the latest). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.allSettled([...this.running.values()]);
  }

  private async drive(reportId: string): Promise<void> {
    const { database, policy, log } = this.deps;
    let saga: HeldSaga | undefined;
    try {
      saga = await claimSaga(database, reportId, policy.leaseMs);
    } catch (error) {
      // The completion that created the saga has committed: its answer must not fail for this. The saga stays
      // unclaimed (no lease), so the next sweep here or on any replica takes it.
      log.warn({ err: error, reportId }, 'report saga could not be claimed; a sweep resumes it');
      return;
    }
    if (!saga) return;
    try {
      const report = await selectReport(database, reportId);
      if (!report) throw new Error(`report ${reportId} of a saga is missing`);
      if (saga.state === 'RUNNING') await this.forward(saga, report);
      if (saga.state === 'COMPENSATING') await this.backward(saga, report);
    } catch (error) {
      if (error instanceof LeaseLost) {
        log.warn({ reportId }, error.message);
        return;
      }
      // Unexpected (the database went away, say): the lease lapses and a sweep resumes the saga.
      log.error({ err: error, reportId }, 'report saga interrupted; it resumes when its lease lapses');
    }
  }

  private async forward(saga: HeldSaga, report: ReportRow): Promise<void> {
    const { database, policy } = this.deps;
    const recorded = await selectSagaSteps(database, saga);
    for (const step of this.deps.steps) {
      if (this.stopped) return;
      if (recorded.get(step.name)?.status === 'DONE') continue;
      await recordStep(database, saga, policy.leaseMs, step.name, 'STARTED');
      const key = stepKey(saga.reportId, saga.attempt, step.name);
      const outcome = await this.withRetries(() => step.run({ key, report }));
      if (!outcome.ok) {
        await recordStep(database, saga, policy.leaseMs, step.name, 'STARTED', { error: outcome.failure.message });
        this.deps.log.warn({ reportId: saga.reportId, attempt: saga.attempt, step: step.name, error: outcome.failure.message }, 'report saga step failed: compensating');
        await beginCompensation(database, saga, step.failureReason);
        return;
      }
      await recordStep(database, saga, policy.leaseMs, step.name, 'DONE', { result: outcome.value ?? null });
    }
    await this.announce(await finishSaga(database, saga, 'PUBLISHED'));
    this.stats.published += 1;
    this.deps.log.info({ reportId: saga.reportId, attempt: saga.attempt }, 'report published');
  }

  private async backward(saga: HeldSaga, report: ReportRow): Promise<void> {
    const { database, policy } = this.deps;
    const recorded = await selectSagaSteps(database, saga);
    for (const step of [...this.deps.steps].reverse()) {
      const status = recorded.get(step.name)?.status;
      if (status === undefined || status === 'COMPENSATED') continue;
      const key = stepKey(saga.reportId, saga.attempt, step.name);
      const outcome = await this.withRetries(() => step.compensate({ key, report }));
      if (!outcome.ok) {
        // The report stays PENDING until the compensation succeeds: a sweep tries again later.
        this.deps.log.error({ reportId: saga.reportId, step: step.name, error: outcome.failure.message }, 'saga compensation failed; retrying later');
        await releaseSaga(database, saga, policy.leaseMs);
        return;
      }
      await recordStep(database, saga, policy.leaseMs, step.name, 'COMPENSATED');
    }
    await this.announce(await finishSaga(database, saga, 'FAILED'));
    this.stats.failed += 1;
    this.deps.log.warn({ reportId: saga.reportId, attempt: saga.attempt, reason: saga.reason }, 'report failed; its steps were compensated');
  }

  private async withRetries<T>(call: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; failure: StepFailure }> {
    const { attempts, baseDelayMs } = this.deps.policy;
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    for (let attempt = 1; ; attempt += 1) {
      try {
        return { ok: true, value: await call() };
      } catch (error) {
        const failure = this.deps.classify(error);
        if (!failure.transient || attempt >= attempts || this.stopped) return { ok: false, failure };
        this.stats.stepRetries += 1;
        await sleep(Math.random() * baseDelayMs * 2 ** (attempt - 1));
      }
    }
  }
}

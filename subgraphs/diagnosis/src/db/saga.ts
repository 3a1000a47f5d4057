import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import { conflict, isUuid, notFound, rowsOf, type Database } from '@suoke/platform';
import { reports, reportSagas, reportSagaSteps, type ReportRow, type SagaRow, type SagaStepName, type SagaStepRow, type SagaStepStatus } from './schema.js';

/**
 * The saga's persisted state. Every write after the claim names the lease
 * token: when it no longer matches (another runner took the saga over), the
 * write changes nothing and `LeaseLost` stops this runner.
 */

export class LeaseLost extends Error {
  constructor(reportId: string) {
    super(`the lease on the saga of report ${reportId} was lost to another runner`);
    this.name = 'LeaseLost';
  }
}

/** A saga as held by one runner. */
export interface HeldSaga {
  reportId: string;
  userId: string;
  attempt: number;
  state: 'RUNNING' | 'COMPENSATING';
  reason: string | null;
  token: string;
}

const unfinished = inArray(reportSagas.state, ['RUNNING', 'COMPENSATING']);
const leaseLapsed = or(isNull(reportSagas.leaseUntil), lt(reportSagas.leaseUntil, sql`now()`));

/** Takes the saga when it is unfinished and nobody holds it; undefined otherwise. */
export async function claimSaga(database: Database, reportId: string, leaseMs: number): Promise<HeldSaga | undefined> {
  const [row] = await database.db
    .update(reportSagas)
    .set({ leaseUntil: sql`now() + ${leaseMs} * interval '1 millisecond'`, leaseToken: sql`gen_random_uuid()`, updatedAt: sql`now()` })
    .where(and(eq(reportSagas.reportId, reportId), unfinished, leaseLapsed))
    .returning();
  if (!row?.leaseToken) return undefined;
  return { reportId: row.reportId, userId: row.userId, attempt: row.attempt, state: row.state as HeldSaga['state'], reason: row.reason, token: row.leaseToken };
}

/** Unfinished sagas nobody holds (their runner died, or never started), oldest first. */
export async function selectOrphanedSagas(database: Database, limit: number): Promise<string[]> {
  const rows = await database.db
    .select({ reportId: reportSagas.reportId })
    .from(reportSagas)
    .where(and(unfinished, leaseLapsed))
    .orderBy(asc(reportSagas.updatedAt))
    .limit(limit);
  return rows.map((r) => r.reportId);
}

export async function selectSagaSteps(database: Database, saga: HeldSaga): Promise<Map<SagaStepName, SagaStepRow>> {
  const rows = await database.db
    .select()
    .from(reportSagaSteps)
    .where(and(eq(reportSagaSteps.reportId, saga.reportId), eq(reportSagaSteps.attempt, saga.attempt)));
  return new Map(rows.map((r) => [r.step, r]));
}

export async function selectReport(database: Database, reportId: string): Promise<ReportRow | undefined> {
  const [row] = await database.db.select().from(reports).where(eq(reports.id, reportId));
  return row;
}

/** Records a step's status and extends the lease, in one statement; LeaseLost when the lease is gone. */
export async function recordStep(
  database: Database,
  saga: HeldSaga,
  leaseMs: number,
  step: SagaStepName,
  status: SagaStepStatus,
  detail: { result?: unknown; error?: string } = {},
): Promise<void> {
  const result = detail.result === undefined ? null : JSON.stringify(detail.result);
  const rows = rowsOf<{ step: string }>(
    await database.db.execute(sql`
      with held as (
        update "diagnosis".report_sagas
        set lease_until = now() + ${leaseMs} * interval '1 millisecond', updated_at = now()
        where report_id = ${saga.reportId} and lease_token = ${saga.token}
        returning report_id
      )
      insert into "diagnosis".report_saga_steps (report_id, attempt, step, status, result, error)
      select report_id, ${saga.attempt}, ${step}, ${status}, ${result}::jsonb, ${detail.error ?? null} from held
      on conflict (report_id, attempt, step) do update
        set status = excluded.status, result = coalesce(excluded.result, report_saga_steps.result), error = excluded.error, updated_at = now()
      returning step`),
  );
  if (rows.length === 0) throw new LeaseLost(saga.reportId);
}

/** RUNNING → COMPENSATING, keeping the reason the report will carry. */
export async function beginCompensation(database: Database, saga: HeldSaga, reason: string): Promise<void> {
  const rows = await database.db
    .update(reportSagas)
    .set({ state: 'COMPENSATING', reason, updatedAt: sql`now()` })
    .where(and(eq(reportSagas.reportId, saga.reportId), eq(reportSagas.leaseToken, saga.token)))
    .returning({ reportId: reportSagas.reportId });
  if (rows.length === 0) throw new LeaseLost(saga.reportId);
  saga.state = 'COMPENSATING';
  saga.reason = reason;
}

/** Ends the saga: its state and the report's status change together. Returns the report as committed. */
export async function finishSaga(database: Database, saga: HeldSaga, outcome: 'PUBLISHED' | 'FAILED'): Promise<ReportRow | undefined> {
  return database.db.transaction(async (tx) => {
    const rows = await tx
      .update(reportSagas)
      .set({ state: outcome, leaseUntil: null, leaseToken: null, updatedAt: sql`now()` })
      .where(and(eq(reportSagas.reportId, saga.reportId), eq(reportSagas.leaseToken, saga.token)))
      .returning({ reportId: reportSagas.reportId });
    if (rows.length === 0) throw new LeaseLost(saga.reportId);
    const [report] = await tx
      .update(reports)
      .set(outcome === 'PUBLISHED' ? { status: 'PUBLISHED', statusReason: null } : { status: 'FAILED', statusReason: saga.reason ?? 'The report could not be published' })
      .where(eq(reports.id, saga.reportId))
      .returning();
    return report;
  });
}

/** Gives the saga up for `delayMs` (a compensation that could not run yet): the sweep takes it again later. */
export async function releaseSaga(database: Database, saga: HeldSaga, delayMs: number): Promise<void> {
  await database.db
    .update(reportSagas)
    .set({ leaseUntil: sql`now() + ${delayMs} * interval '1 millisecond'`, leaseToken: null, updatedAt: sql`now()` })
    .where(and(eq(reportSagas.reportId, saga.reportId), eq(reportSagas.leaseToken, saga.token)));
}

/**
 * The owner's FAILED report goes back to PENDING and its saga runs again as the
 * next attempt, with fresh step keys. NOT_FOUND for an unknown or foreign
 * report, CONFLICT unless it is FAILED.
 */
export async function restartSaga(database: Database, userId: string, reportId: string): Promise<ReportRow> {
  const missing = () => notFound(`No report with id ${JSON.stringify(reportId)} was found`);
  if (!isUuid(reportId)) throw missing();
  return database.db.transaction(async (tx) => {
    const [report] = await tx.select().from(reports).where(eq(reports.id, reportId)).for('update');
    if (!report || report.userId !== userId) throw missing();
    if (report.status !== 'FAILED') throw conflict(`Report ${reportId} is ${report.status.toLowerCase()}; only a failed report can be retried`);
    await tx
      .update(reportSagas)
      .set({ attempt: sql`${reportSagas.attempt} + 1`, state: 'RUNNING', reason: null, leaseUntil: null, leaseToken: null, updatedAt: sql`now()` })
      .where(eq(reportSagas.reportId, reportId));
    const [updated] = await tx.update(reports).set({ status: 'PENDING', statusReason: null }).where(eq(reports.id, reportId)).returning();
    if (!updated) throw new Error(`report ${reportId} vanished during retry`);
    return updated;
  });
}

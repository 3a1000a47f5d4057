import { and, eq, sql } from 'drizzle-orm';
import { conflict, isUuid, notFound, type Database } from '@suoke/platform';
import type { AgentId } from '../service/agents.js';
import type { Method } from '../service/findings.js';
import type { ReportContent } from '../service/synthesis.js';
import { toMethodResults } from './queries.js';
import { consultations, methodResults, reports, reportSagas, type ReportRow, type ConsultationRow, type ConsultationStatus, type MethodResultData, type MethodResults } from './schema.js';

/** A drizzle transaction, as `database.db.transaction` passes it. */
export type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

/**
 * The write statements of a consultation's life. Every change to an existing
 * consultation runs in a transaction that first locks its row, so a result can
 * never be stored after the consultation was completed or cancelled.
 */

export async function insertConsultation(database: Database, userId: string, agentId: AgentId): Promise<ConsultationRow> {
  const [row] = await database.db.insert(consultations).values({ userId, agentId, status: 'OPEN' }).returning();
  if (!row) throw new Error('consultation insert returned no row');
  return row;
}

/** The same answer for an unknown id and another user's consultation: existence is not revealed. */
export const consultationNotFound = (id: string) => notFound(`No consultation with id ${JSON.stringify(id)} was found`);

/**
 * Runs `fn` in a transaction holding the lock on the caller's open
 * consultation. NOT_FOUND when it does not exist or belongs to someone else;
 * CONFLICT naming its status when it is completed or cancelled.
 */
export async function withOpenConsultation<T>(
  database: Database,
  userId: string,
  id: string,
  action: string,
  fn: (tx: Tx, consultation: ConsultationRow) => Promise<T>,
): Promise<T> {
  if (!isUuid(id)) throw consultationNotFound(id);
  return database.db.transaction(async (tx) => {
    const [row] = await tx.select().from(consultations).where(eq(consultations.id, id)).for('update');
    if (!row || row.userId !== userId) throw consultationNotFound(id);
    if (row.status !== 'OPEN') {
      throw conflict(`Consultation ${id} is ${row.status.toLowerCase()}; ${action} needs an open consultation`);
    }
    return fn(tx, row);
  });
}

/** Stores a method's result, replacing an earlier submission of the same method. */
export async function saveMethodResult(tx: Tx, consultationId: string, method: Method, input: unknown, result: MethodResultData): Promise<void> {
  await tx
    .insert(methodResults)
    .values({ consultationId, method, input, result })
    .onConflictDoUpdate({
      target: [methodResults.consultationId, methodResults.method],
      set: { input, result, submittedAt: sql`now()` },
    });
}

export async function loadMethodResults(tx: Tx, consultationId: string): Promise<MethodResults> {
  const rows = await tx
    .select({ method: methodResults.method, result: methodResults.result, submittedAt: methodResults.submittedAt })
    .from(methodResults)
    .where(eq(methodResults.consultationId, consultationId));
  return toMethodResults(rows);
}

/** Stores the report as PENDING with its follow-up saga, which publishes it (see service/saga.ts). */
export async function insertReport(tx: Tx, consultation: ConsultationRow, content: ReportContent): Promise<ReportRow> {
  const [report] = await tx.insert(reports).values({ consultationId: consultation.id, userId: consultation.userId, ...content, status: 'PENDING' }).returning();
  if (!report) throw new Error('report insert returned no row');
  await tx.insert(reportSagas).values({ reportId: report.id, userId: report.userId, attempt: 1, state: 'RUNNING' });
  return report;
}

/** Moves an open consultation to COMPLETED or CANCELLED, stamping the matching time. */
export async function closeConsultation(tx: Tx, id: string, status: Exclude<ConsultationStatus, 'OPEN'>): Promise<ConsultationRow> {
  const stamp = status === 'COMPLETED' ? { completedAt: sql`now()` } : { cancelledAt: sql`now()` };
  const [row] = await tx
    .update(consultations)
    .set({ status, ...stamp })
    .where(and(eq(consultations.id, id), eq(consultations.status, 'OPEN')))
    .returning();
  if (!row) throw new Error(`consultation ${id} was not open when closing it`);
  return row;
}

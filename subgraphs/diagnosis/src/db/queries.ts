import { asc, desc, inArray, sql } from 'drizzle-orm';
import { type Database, arrayParam, isoUtc } from '@suoke/platform';
import type { AgentId } from '../service/agents.js';
import type { Method } from '../service/findings.js';
import {
  consultations,
  methodResults,
  questions,
  reports,
  type ConsultationRow,
  type ConsultationStatus,
  type MethodResults,
  type QuestionRow,
  type ReportRow,
} from './schema.js';

/**
 * The read statements behind the loaders. Each takes every key of a batch and
 * issues exactly one SQL statement, whatever the number of keys.
 */

export async function selectQuestions(database: Database): Promise<QuestionRow[]> {
  return database.db.select().from(questions).orderBy(asc(questions.position));
}

export async function selectConsultations(database: Database, ids: readonly string[]): Promise<ConsultationRow[]> {
  return database.db.select().from(consultations).where(inArray(consultations.id, [...ids]));
}

/** One page request of `User.consultations`. `limit` is first + 1: the extra row only tells that more follow. */
export interface PageQuery {
  userId: string;
  limit: number;
  /** Keyset position to continue after, as decoded from a cursor. */
  after: { at: Date; id: string } | null;
}

interface RawConsultation {
  ord: number;
  id: string;
  userId: string;
  agentId: AgentId;
  status: ConsultationStatus;
  startedAt: string;
  completedAt: string | null;
  cancelledAt: string | null;
}

const dateOrNull = (value: string | null) => (value === null ? null : new Date(value));

/** Pages of several users at once: rows tagged with the 1-based position (`ord`) of the query they answer. */
export async function selectConsultationPages(database: Database, queries: readonly PageQuery[]): Promise<Array<{ ord: number; row: ConsultationRow }>> {
  const rows = await database.rows<RawConsultation & Record<string, unknown>>(sql`
    select k.ord::int as ord, c.id::text as id, c.user_id::text as "userId", c.agent_id as "agentId", c.status,
           ${isoUtc(sql`c.started_at`)} as "startedAt", ${isoUtc(sql`c.completed_at`)} as "completedAt",
           ${isoUtc(sql`c.cancelled_at`)} as "cancelledAt"
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.limit), 'int')},
      ${arrayParam(queries.map((q) => q.after?.at ?? null), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.after?.id ?? null), 'uuid')}
    ) with ordinality as k(user_id, row_limit, after_at, after_id, ord)
    cross join lateral (
      select c.*
      from "diagnosis".consultations c
      where c.user_id = k.user_id
        and (k.after_at is null or (c.started_at, c.id) < (k.after_at, k.after_id))
      order by c.started_at desc, c.id desc
      limit k.row_limit
    ) c
    order by k.ord, c.started_at desc, c.id desc`);
  return rows.map(({ ord, ...raw }) => ({
    ord,
    row: { ...raw, startedAt: new Date(raw.startedAt), completedAt: dateOrNull(raw.completedAt), cancelledAt: dateOrNull(raw.cancelledAt) },
  }));
}

/** Every method result of the given consultations. */
export async function selectMethodResults(database: Database, consultationIds: readonly string[]) {
  return database.db
    .select({ consultationId: methodResults.consultationId, method: methodResults.method, result: methodResults.result, submittedAt: methodResults.submittedAt })
    .from(methodResults)
    .where(inArray(methodResults.consultationId, [...consultationIds]));
}

/** Groups method rows of one consultation into `MethodResults`. */
export function toMethodResults(rows: ReadonlyArray<{ method: Method; result: unknown; submittedAt: Date }>): MethodResults {
  const results: MethodResults = {};
  for (const row of rows) {
    Object.assign(results, { [row.method]: { ...(row.result as object), submittedAt: row.submittedAt } });
  }
  return results;
}

export async function selectReportsByConsultation(database: Database, consultationIds: readonly string[]): Promise<ReportRow[]> {
  return database.db.select().from(reports).where(inArray(reports.consultationId, [...consultationIds]));
}

export async function selectReportsByIds(database: Database, ids: readonly string[]): Promise<ReportRow[]> {
  return database.db.select().from(reports).where(inArray(reports.id, [...ids]));
}

/** The newest report of each user. */
export async function selectLatestReports(database: Database, userIds: readonly string[]): Promise<ReportRow[]> {
  return database.db
    .selectDistinctOn([reports.userId])
    .from(reports)
    .where(inArray(reports.userId, [...userIds]))
    .orderBy(reports.userId, desc(reports.createdAt), desc(reports.id));
}

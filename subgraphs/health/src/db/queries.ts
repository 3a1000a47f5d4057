import { inArray, sql, type SQL } from 'drizzle-orm';
import { type Database, arrayParam, isoUtc } from '@suoke/platform';
import { OBSERVATION_TYPE_NAMES, type ObservationTypeName } from '../service/observation-types.js';
import { observations, profiles, type ObservationRow, type ObservationStatRow, type ProfileRow } from './schema.js';

/**
 * The read statements behind the loaders. Each takes every key of a batch and
 * issues exactly one SQL statement; rows carry the 1-based position (`ord`) of
 * the key they answer, so the caller aligns them without comparing strings.
 */

/** One page request of `User.observations`. `limit` is first + 1: the extra row only tells that more follow. */
export interface PageQuery {
  userId: string;
  type: ObservationTypeName | null;
  from: Date | null;
  to: Date | null;
  limit: number;
  /** Keyset position to continue after: (recorded_at, id), as decoded from a cursor. */
  after: { recordedAt: string; id: string } | null;
}

/** An observation of a page, with its exact (microsecond) recorded_at for the cursor. */
export type PageRow = ObservationRow & { recordedAtKey: string };

interface RawObservation {
  ord: number;
  id: string;
  userId: string;
  type: ObservationTypeName;
  value: number;
  diastolic: number | null;
  recordedAt: string;
  source: string | null;
  externalId: string;
}

/**
 * The statement behind `selectObservationPages`, exported so that tests can EXPLAIN it.
 *
 * Partitions are pruned by the batch-wide bounds, which are plain parameters
 * the planner can use (the keys' own bounds come through LATERAL, which
 * partition pruning cannot use): from the earliest `from` of the batch, or the
 * start of the recording window (`earliest`, OBSERVATION_MAX_AGE_MONTHS back)
 * for a key without one, up to the batch's latest `to`, or now plus the
 * greatest future allowance (5 minutes; no row can be later) for a key without one. So a timeline read without a range touches
 * neither the partitions before the window nor the months prepared ahead, and
 * one with a range only the range's months.
 */
export function observationPagesQuery(queries: readonly PageQuery[], earliest: Date): SQL {
  const froms = queries.map((q) => q.from ?? earliest);
  const batchFrom = new Date(Math.min(...froms.map((d) => d.getTime())));
  const tos = queries.map((q) => q.to);
  const latest = sql`now() + interval '5 minutes'`;
  const batchTo = tos.every((to) => to !== null) ? sql`least(${new Date(Math.max(...tos.map((d) => d!.getTime()))).toISOString()}::timestamptz, ${latest})` : latest;
  return sql`
    select k.ord::int as ord, o.id::text as id, o.user_id::text as "userId", o.type, o.value, o.diastolic,
           ${isoUtc(sql`o.recorded_at`)} as "recordedAt", o.source, o.external_id as "externalId"
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.type), 'text')},
      ${arrayParam(froms, 'timestamptz')},
      ${arrayParam(queries.map((q) => q.to), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.limit), 'int')},
      ${arrayParam(queries.map((q) => q.after?.recordedAt ?? null), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.after?.id ?? null), 'uuid')}
    ) with ordinality as k(user_id, type, from_at, to_at, row_limit, after_at, after_id, ord)
    cross join lateral (
      select o.*
      from "health".observations o
      where o.recorded_at >= ${batchFrom.toISOString()}::timestamptz
        and o.recorded_at < ${batchTo}
        and o.user_id = k.user_id
        and (k.type is null or o.type = k.type)
        and o.recorded_at >= k.from_at
        and (k.to_at is null or o.recorded_at < k.to_at)
        and (k.after_at is null or (o.recorded_at, o.id) < (k.after_at, k.after_id))
      order by o.recorded_at desc, o.id desc
      limit k.row_limit
    ) o
    order by k.ord, o.recorded_at desc, o.id desc`;
}

export async function selectObservationPages(database: Database, queries: readonly PageQuery[], earliest: Date): Promise<Array<{ ord: number; row: PageRow }>> {
  const rows = await database.rows<RawObservation & Record<string, unknown>>(observationPagesQuery(queries, earliest));
  return rows.map(({ ord, ...raw }) => ({ ord, row: { ...raw, recordedAt: new Date(raw.recordedAt), recordedAtKey: raw.recordedAt } }));
}

export interface SummaryQuery {
  userId: string;
  days: number;
}

type RawStat = Omit<ObservationStatRow, 'latestAt'> & { ord: number; latestAt: string };

const newestFirst = sql`order by o.recorded_at desc, o.id desc`;
/** The statistics of one observation type (a `HealthSummary`'s figures), selected per user and window below. */
const STATISTICS = sql`o.type, count(*)::int as count,
             avg(o.value) as average, min(o.value) as min, max(o.value) as max,
             (array_agg(o.value ${newestFirst}))[1] as latest,
             ${isoUtc(sql`max(o.recorded_at)`)} as "latestAt",
             avg(o.diastolic) as "averageDiastolic",
             (array_agg(o.diastolic ${newestFirst}))[1] as "latestDiastolic"`;

/** The statement behind `selectSummaries`, exported so that tests can EXPLAIN it. */
export function summariesQuery(queries: readonly SummaryQuery[]): SQL {
  // LATERAL per key, not a join: each user's window is read through the
  // (user_id, recorded_at) index. The keys' own bounds come through LATERAL,
  // which the planner cannot prune on; the batch's earliest instant, a plain
  // parameter, prunes the older partitions when the statement is planned.
  // No row is later than now plus the greatest future allowance (5 minutes): the months prepared ahead are skipped too.
  const since = new Date(Date.now() - Math.max(...queries.map((q) => q.days)) * 86_400_000 - 60_000);
  const until = new Date(Date.now() + 6 * 60_000);
  return sql`
    select k.ord::int as ord, s.*
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.days), 'int')}
    ) with ordinality as k(user_id, days, ord)
    cross join lateral (
      select ${STATISTICS}
      from "health".observations o
      where o.user_id = k.user_id and o.recorded_at >= now() - make_interval(days => k.days)
        and o.recorded_at >= ${since.toISOString()}::timestamptz and o.recorded_at < ${until.toISOString()}::timestamptz
      group by o.type
    ) s
    order by k.ord, array_position(${arrayParam(OBSERVATION_TYPE_NAMES, 'text')}, s.type)`;
}

/** Per user and window: one row per observation type present, in enum order. */
export async function selectSummaries(database: Database, queries: readonly SummaryQuery[]): Promise<Array<{ ord: number; row: ObservationStatRow }>> {
  const rows = await database.rows<RawStat & Record<string, unknown>>(summariesQuery(queries));
  return rows.map(({ ord, ...raw }) => ({ ord, row: { ...raw, latestAt: new Date(raw.latestAt) } }));
}

export async function selectObservationsByIds(database: Database, ids: readonly string[]): Promise<ObservationRow[]> {
  return database.db
    .select({
      id: observations.id,
      userId: observations.userId,
      type: observations.type,
      value: observations.value,
      diastolic: observations.diastolic,
      recordedAt: observations.recordedAt,
      source: observations.source,
      externalId: observations.externalId,
    })
    .from(observations)
    .where(inArray(observations.id, [...ids]));
}

export async function selectProfiles(database: Database, userIds: readonly string[]): Promise<ProfileRow[]> {
  const rows = await database.db.select().from(profiles).where(inArray(profiles.userId, [...userIds]));
  return rows.map(toProfile);
}

export function toProfile(row: typeof profiles.$inferSelect): ProfileRow {
  return { ...row, id: row.userId };
}

/** One `HealthSummary` entity: one type of one user over [from, to). */
export interface WindowQuery {
  userId: string;
  type: ObservationTypeName;
  from: Date;
  to: Date;
}

/** Per user, type and window: at most one statistics row; one statement for the whole batch of entity references. */
export async function selectWindowSummaries(database: Database, queries: readonly WindowQuery[]): Promise<Array<{ ord: number; row: ObservationStatRow }>> {
  // The batch's outer bounds as plain parameters let the planner prune partitions (see summariesQuery).
  const since = new Date(Math.min(...queries.map((q) => q.from.getTime())));
  const until = new Date(Math.max(...queries.map((q) => q.to.getTime())));
  const rows = await database.rows<RawStat & Record<string, unknown>>(sql`
    select k.ord::int as ord, s.*
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.type), 'text')},
      ${arrayParam(queries.map((q) => q.from), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.to), 'timestamptz')}
    ) with ordinality as k(user_id, type, t_from, t_to, ord)
    cross join lateral (
      select ${STATISTICS}
      from "health".observations o
      where o.user_id = k.user_id and o.type = k.type and o.recorded_at >= k.t_from and o.recorded_at < k.t_to
        and o.recorded_at >= ${since.toISOString()}::timestamptz and o.recorded_at < ${until.toISOString()}::timestamptz
      group by o.type
    ) s
    order by k.ord`);
  return rows.map(({ ord, ...raw }) => ({ ord, row: { ...raw, latestAt: new Date(raw.latestAt) } }));
}

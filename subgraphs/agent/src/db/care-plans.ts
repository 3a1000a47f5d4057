import { sql } from 'drizzle-orm';
import { arrayParam, conflict, isoUtc, notFound, rowsOf, type Database } from '@suoke/platform';
import type { CarePlanRow, CarePlanStatus, StoredRecommendation } from './schema.js';

/**
 * Storage of versioned care plans. Reads take every key of a loader batch and
 * issue one statement; writes for one user are serialised by a transaction-level
 * advisory lock, so that two concurrent proposals cannot both take version n+1
 * (the unique constraints are the backstop, not the mechanism).
 */

const COLUMNS = sql`p.id::text as id, p.user_id::text as "userId", p.version, p.status, p.report_id::text as "reportId",
  ${isoUtc(sql`p.report_created_at`)} as "reportCreatedAt", p.primary_constitution as "primaryConstitution",
  p.secondary_constitutions as "secondaryConstitutions", p.syndromes, p.recommendations,
  ${isoUtc(sql`p.created_at`)} as "createdAt", ${isoUtc(sql`p.activated_at`)} as "activatedAt", ${isoUtc(sql`p.superseded_at`)} as "supersededAt"`;

interface RawCarePlan {
  id: string;
  userId: string;
  version: number;
  status: CarePlanStatus;
  reportId: string;
  reportCreatedAt: string;
  primaryConstitution: string;
  secondaryConstitutions: string[] | string;
  syndromes: string[] | string;
  recommendations: StoredRecommendation[] | string;
  createdAt: string;
  activatedAt: string | null;
  supersededAt: string | null;
}

/** A text[] as an array: both drivers parse it, but a driver configured otherwise hands over `{a,b}`. */
function textArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, '');
  return inner === '' ? [] : inner.split(',').map((part) => part.replace(/^"|"$/g, ''));
}

function toRow(raw: RawCarePlan): CarePlanRow {
  return {
    ...raw,
    version: Number(raw.version),
    secondaryConstitutions: textArray(raw.secondaryConstitutions),
    syndromes: textArray(raw.syndromes),
    recommendations: typeof raw.recommendations === 'string' ? (JSON.parse(raw.recommendations) as StoredRecommendation[]) : raw.recommendations,
    reportCreatedAt: new Date(raw.reportCreatedAt),
    createdAt: new Date(raw.createdAt),
    activatedAt: raw.activatedAt ? new Date(raw.activatedAt) : null,
    supersededAt: raw.supersededAt ? new Date(raw.supersededAt) : null,
  };
}

/** One request of `User.carePlans`: newest version first; `limit` is first + 1. */
export interface CarePlanPageQuery {
  userId: string;
  limit: number;
  /** The version of the last plan of the previous page. */
  afterVersion: number | null;
}

export async function selectCarePlanPages(database: Database, queries: readonly CarePlanPageQuery[]): Promise<Array<{ ord: number; row: CarePlanRow }>> {
  const rows = await database.rows<RawCarePlan & { ord: number } & Record<string, unknown>>(sql`
    select k.ord::int as ord, ${COLUMNS}
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.limit), 'int')},
      ${arrayParam(queries.map((q) => q.afterVersion), 'int')}
    ) with ordinality as k(user_id, row_limit, after_version, ord)
    cross join lateral (
      select * from "agent".care_plans c
      where c.user_id = k.user_id and (k.after_version is null or c.version < k.after_version)
      order by c.version desc
      limit k.row_limit
    ) p
    order by k.ord, p.version desc`);
  return rows.map(({ ord, ...raw }) => ({ ord, row: toRow(raw) }));
}

/** One request of `User.carePlan`: a given version, or (null) the current one — the ACTIVE plan, else the newest PROPOSED. */
export interface CarePlanQuery {
  userId: string;
  version: number | null;
}

export async function selectCarePlans(database: Database, queries: readonly CarePlanQuery[]): Promise<Array<{ ord: number; row: CarePlanRow }>> {
  const rows = await database.rows<RawCarePlan & { ord: number } & Record<string, unknown>>(sql`
    select k.ord::int as ord, ${COLUMNS}
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.version), 'int')}
    ) with ordinality as k(user_id, wanted, ord)
    cross join lateral (
      select * from "agent".care_plans c
      where c.user_id = k.user_id and (k.wanted is null or c.version = k.wanted) and (k.wanted is not null or c.status <> 'SUPERSEDED')
      order by (c.status = 'ACTIVE') desc, c.version desc
      limit 1
    ) p
    order by k.ord`);
  return rows.map(({ ord, ...raw }) => ({ ord, row: toRow(raw) }));
}

type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

async function lockUser(tx: Tx, userId: string) {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`suoke:care-plan:${userId}`}))`);
}

async function planWhere(tx: Tx, userId: string, condition: ReturnType<typeof sql>): Promise<CarePlanRow | undefined> {
  const [raw] = rowsOf<RawCarePlan>(await tx.execute(sql`select ${COLUMNS} from "agent".care_plans p where p.user_id = ${userId} and ${condition}`));
  return raw ? toRow(raw) : undefined;
}

export interface NewCarePlan {
  userId: string;
  reportId: string;
  reportCreatedAt: Date;
  primaryConstitution: string;
  secondaryConstitutions: string[];
  syndromes: string[];
  recommendations: StoredRecommendation[];
}

/**
 * Stores a new PROPOSED version built from a report, superseding an earlier
 * proposal nobody accepted (the ACTIVE plan stays until this one is accepted).
 * The version built from the same report already is returned instead
 * (`created` false), whatever its status.
 */
export async function insertCarePlan(database: Database, plan: NewCarePlan): Promise<{ plan: CarePlanRow; created: boolean }> {
  return database.db.transaction(async (tx) => {
    await lockUser(tx, plan.userId);
    const existing = await planWhere(tx, plan.userId, sql`p.report_id = ${plan.reportId}`);
    if (existing) return { plan: existing, created: false };
    await tx.execute(sql`
      update "agent".care_plans set status = 'SUPERSEDED', superseded_at = now()
      where user_id = ${plan.userId} and status = 'PROPOSED'`);
    const [raw] = rowsOf<RawCarePlan>(
      await tx.execute(sql`
        insert into "agent".care_plans as p
          (user_id, version, status, report_id, report_created_at, primary_constitution, secondary_constitutions, syndromes, recommendations)
        select ${plan.userId}::uuid, coalesce(max(version), 0) + 1, 'PROPOSED', ${plan.reportId}::uuid, ${plan.reportCreatedAt.toISOString()}::timestamptz,
               ${plan.primaryConstitution}::text, ${arrayParam(plan.secondaryConstitutions, 'text')}, ${arrayParam(plan.syndromes, 'text')},
               ${JSON.stringify(plan.recommendations)}::jsonb
        from "agent".care_plans where user_id = ${plan.userId}
        returning ${COLUMNS}`),
    );
    if (!raw) throw new Error('care plan insert returned no row');
    return { plan: toRow(raw), created: true };
  });
}

/**
 * Makes a PROPOSED version the ACTIVE one, superseding the plan it replaces.
 * Idempotent for the version already ACTIVE; a SUPERSEDED version is CONFLICT
 * (a newer proposal or plan replaced it); an unknown version NOT_FOUND.
 */
export async function activateCarePlan(database: Database, userId: string, version: number): Promise<CarePlanRow> {
  return database.db.transaction(async (tx) => {
    await lockUser(tx, userId);
    const plan = await planWhere(tx, userId, sql`p.version = ${version}`);
    if (!plan) throw notFound(`You have no care plan version ${version}`);
    if (plan.status === 'ACTIVE') return plan;
    if (plan.status === 'SUPERSEDED') throw conflict(`Care plan version ${version} was superseded by a newer version and can no longer be accepted`);
    await tx.execute(sql`
      update "agent".care_plans set status = 'SUPERSEDED', superseded_at = now()
      where user_id = ${userId} and status = 'ACTIVE'`);
    const [raw] = rowsOf<RawCarePlan>(
      await tx.execute(sql`
        update "agent".care_plans as p set status = 'ACTIVE', activated_at = now()
        where p.user_id = ${userId} and p.version = ${version}
        returning ${COLUMNS}`),
    );
    if (!raw) throw new Error(`care plan version ${version} vanished while activated`);
    return toRow(raw);
  });
}

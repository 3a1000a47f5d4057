import { sql } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import { type Database, arrayParam, isoUtc, rowsOf } from '@suoke/platform';
import type { NewObservation } from '../service/ingest.js';
import type { ObservationTypeName } from '../service/observation-types.js';
import type { ObservationRow } from './schema.js';

export interface StoreResult {
  /** The observations stored now, in the order of `items`. */
  inserted: ObservationRow[];
  /** Items skipped because their (userId, externalId) was recorded before. */
  duplicates: number;
}

type RawInserted = Omit<ObservationRow, 'recordedAt'> & { recordedAt: string };

/** A drizzle transaction, as `database.db.transaction` passes it. */
export type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

/**
 * Stores validated observations in one transaction of one statement, however
 * many items there are: it claims each (user, externalId) in observation_keys
 * and inserts only the observations whose key was new. A replayed item (or a
 * concurrent duplicate, which waits on the key's index entry) stores nothing.
 * No DDL: the monthly partitions exist already (service/partitions.ts). A row
 * for a month without one fails the statement, so the whole batch, keys
 * included, is refused rather than half stored.
 */
export async function storeObservations(database: Database, items: readonly NewObservation[]): Promise<StoreResult> {
  if (items.length === 0) return { inserted: [], duplicates: 0 };
  let inserted: RawInserted[];
  try {
    inserted = await database.db.transaction((tx) => insertObservations(tx, items));
  } catch (error) {
    if (isMissingPartition(error)) throw missingPartition(items);
    throw error;
  }
  return aligned(items, inserted);
}

/** The insert itself, in the caller's transaction. */
export async function insertObservations(tx: Tx, items: readonly NewObservation[]): Promise<RawInserted[]> {
  const result = await tx.execute(sql`
      with input as (
        select distinct on (user_id, external_id) *
        from unnest(
          ${arrayParam(items.map((i) => i.userId), 'uuid')},
          ${arrayParam(items.map((i) => i.externalId), 'text')},
          ${arrayParam(items.map((i) => i.type), 'text')},
          ${arrayParam(items.map((i) => i.value), 'float8')},
          ${arrayParam(items.map((i) => i.diastolic), 'float8')},
          ${arrayParam(items.map((i) => i.recordedAt), 'timestamptz')},
          ${arrayParam(items.map((i) => i.source), 'text')}
        ) as t(user_id, external_id, type, value, diastolic, recorded_at, source)
      ),
      new_keys as (
        insert into "health".observation_keys (user_id, external_id)
        select user_id, external_id from input
        on conflict do nothing
        returning user_id, external_id
      )
      insert into "health".observations (user_id, type, value, diastolic, recorded_at, source, external_id)
      select i.user_id, i.type, i.value, i.diastolic, i.recorded_at, i.source, i.external_id
      from input i
      join new_keys k on k.user_id = i.user_id and k.external_id = i.external_id
      returning id::text as id, user_id::text as "userId", type, value, diastolic,
                ${isoUtc(sql`recorded_at`)} as "recordedAt", source, external_id as "externalId"`);
  return rowsOf<RawInserted>(result);
}

/** PostgreSQL's "no partition of relation ... found for row" (check_violation, raised by tuple routing). */
function isMissingPartition(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: string }).code === '23514' && /no partition of relation/.test(e.message)) return true;
  }
  return false;
}

/** Retryable: the partition job makes the month's table, then the same batch goes in (ingest is idempotent). */
function missingPartition(items: readonly NewObservation[]): GraphQLError {
  const months = [...new Set(items.map((i) => i.recordedAt.toISOString().slice(0, 7)))].sort();
  return new GraphQLError(`Observations for ${months.join(', ')} cannot be stored yet (no storage prepared for one of these months); nothing was stored, try again later`, {
    extensions: { code: 'SERVICE_UNAVAILABLE' },
  });
}

function aligned(items: readonly NewObservation[], inserted: RawInserted[]): StoreResult {
  const keyOf = (o: { userId: string; externalId: string }) => `${o.userId.toLowerCase()}\u0000${o.externalId}`;
  const position = new Map(items.map((item, index) => [keyOf(item), index]));
  const rows = inserted
    .map((raw) => ({ ...raw, type: raw.type as ObservationTypeName, recordedAt: new Date(raw.recordedAt) }))
    .sort((a, b) => (position.get(keyOf(a)) ?? 0) - (position.get(keyOf(b)) ?? 0));
  return { inserted: rows, duplicates: items.length - rows.length };
}

import { sql } from 'drizzle-orm';
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

/**
 * Stores validated observations in one transaction of two statements, however
 * many items there are: the first creates any missing monthly partitions, the
 * second claims each (user, externalId) in observation_keys and inserts only
 * the observations whose key was new. A replayed item (or a concurrent
 * duplicate, which waits on the key's index entry) stores nothing.
 */
export async function storeObservations(database: Database, items: readonly NewObservation[]): Promise<StoreResult> {
  if (items.length === 0) return { inserted: [], duplicates: 0 };
  const inserted = await database.db.transaction(async (tx) => {
    await tx.execute(sql`select "health".ensure_observation_partitions(${arrayParam(items.map((i) => i.recordedAt), 'timestamptz')})`);
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
  });
  const keyOf = (o: { userId: string; externalId: string }) => `${o.userId.toLowerCase()}\u0000${o.externalId}`;
  const position = new Map(items.map((item, index) => [keyOf(item), index]));
  const rows = inserted
    .map((raw) => ({ ...raw, type: raw.type as ObservationTypeName, recordedAt: new Date(raw.recordedAt) }))
    .sort((a, b) => (position.get(keyOf(a)) ?? 0) - (position.get(keyOf(b)) ?? 0));
  return { inserted: rows, duplicates: items.length - rows.length };
}

import DataLoader from 'dataloader';
import { keyedLoader, type Database, isUuid } from '@suoke/platform';
import {
  selectObservationPages,
  selectObservationsByIds,
  selectProfiles,
  selectSummaries,
  type PageQuery,
  type PageRow,
  type SummaryQuery,
} from './db/queries.js';
import type { ObservationRow, ObservationStatRow, ProfileRow } from './db/schema.js';

/**
 * Per-request loaders: every per-parent field and every entity reference goes
 * through one of these, and each batch is one SQL statement whatever the number
 * of keys. Keys that are not UUIDs cannot match a row and never reach SQL.
 */
export function createLoaders(database: Database) {
  return {
    profileByUserId: keyedLoader<string, ProfileRow | null, ProfileRow>(
      (ids) => withUuids(ids, (valid) => selectProfiles(database, valid)),
      (row) => row.userId,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    observationById: keyedLoader<string, ObservationRow | null, ObservationRow>(
      (ids) => withUuids(ids, (valid) => selectObservationsByIds(database, valid)),
      (row) => row.id,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    observationPage: positionalLoader<PageQuery, PageRow>((keys) => selectObservationPages(database, keys), (key) => isUuid(key.userId)),
    summary: positionalLoader<SummaryQuery, ObservationStatRow>((keys) => selectSummaries(database, keys), (key) => isUuid(key.userId)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

async function withUuids<R>(ids: readonly string[], load: (valid: string[]) => Promise<R[]>): Promise<R[]> {
  const valid = ids.filter(isUuid);
  return valid.length === 0 ? [] : load(valid);
}

/**
 * A loader for composite keys whose batch query returns rows tagged with the
 * 1-based position (`ord`) of the key they answer; each key gets its rows in
 * query order (an empty list when none). Keys failing `canMatch` get an empty
 * list without being sent. Identical keys (by JSON) are loaded once.
 */
function positionalLoader<K, R>(
  query: (keys: K[]) => Promise<Array<{ ord: number; row: R }>>,
  canMatch: (key: K) => boolean,
): DataLoader<K, R[], string> {
  return new DataLoader<K, R[], string>(
    async (keys) => {
      const sent = keys.filter(canMatch);
      const results = new Map<K, R[]>(keys.map((key) => [key, []]));
      if (sent.length === 0) return keys.map(() => []);
      for (const { ord, row } of await query(sent)) results.get(sent[ord - 1] as K)?.push(row);
      return keys.map((key) => results.get(key) ?? []);
    },
    { cacheKeyFn: (key) => JSON.stringify(key) },
  );
}

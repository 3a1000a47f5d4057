import DataLoader from 'dataloader';
import { isUuid } from './pagination.js';
import { InstrumentableLoader } from './telemetry/index.js';

/**
 * A DataLoader whose batch function returns rows in any order; results are
 * aligned to the keys here, with `missing` for keys that matched nothing.
 * Keys are compared by `cacheKey` (objects by their JSON), so composite keys
 * such as `{ userId, days }` batch and cache correctly.
 */
export function keyedLoader<K, V, R = V>(
  batch: (keys: readonly K[]) => Promise<readonly R[]>,
  keyOfRow: (row: R) => string,
  options: { cacheKey?: (key: K) => string; missing: V; collect?: 'one' | 'many'; map?: (rows: R[]) => V },
): DataLoader<K, V, string> {
  const cacheKey = options.cacheKey ?? ((key: K) => (typeof key === 'string' ? key : JSON.stringify(key)));
  return new InstrumentableLoader<K, V, string>(
    async (keys) => {
      const rows = await batch(keys);
      const grouped = new Map<string, R[]>();
      for (const row of rows) {
        const k = keyOfRow(row);
        const list = grouped.get(k);
        if (list) list.push(row);
        else grouped.set(k, [row]);
      }
      return keys.map((key) => {
        const found = grouped.get(cacheKey(key));
        if (!found) return options.missing;
        if (options.map) return options.map(found);
        return (options.collect === 'many' ? found : found[0]) as V;
      });
    },
    { cacheKeyFn: cacheKey },
  );
}

/**
 * A DataLoader for composite keys (a page request, a window) whose batch query
 * answers every key in one statement, tagging each row with the 1-based position
 * (`ord`) of the key it answers — e.g. `unnest(...) with ordinality` joined
 * laterally. Each key gets its rows in query order (empty when none); keys
 * failing `canMatch` (say, an id that is no UUID) get an empty list without
 * being sent. Identical keys (by JSON) are loaded once.
 */
export function positionalLoader<K, R>(
  query: (keys: K[]) => Promise<Array<{ ord: number; row: R }>>,
  canMatch: (key: K) => boolean = () => true,
): DataLoader<K, R[], string> {
  return new InstrumentableLoader<K, R[], string>(
    async (keys) => {
      const sent = keys.filter(canMatch);
      if (sent.length === 0) return keys.map(() => []);
      const results = new Map<K, R[]>(keys.map((key) => [key, []]));
      for (const { ord, row } of await query(sent)) results.get(sent[ord - 1] as K)?.push(row);
      return keys.map((key) => results.get(key) ?? []);
    },
    { cacheKeyFn: (key) => JSON.stringify(key) },
  );
}

/** Runs `load` with only the ids that are UUIDs; none → no SQL at all. */
export async function withUuids<R>(ids: readonly string[], load: (valid: string[]) => Promise<R[]>): Promise<R[]> {
  const valid = ids.filter(isUuid);
  return valid.length === 0 ? [] : load(valid);
}

import DataLoader from 'dataloader';

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
  return new DataLoader<K, V, string>(
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

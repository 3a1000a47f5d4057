import { describe, expect, it } from 'vitest';
import { keyedLoader } from '../src/loaders.js';

interface Row {
  id: string;
  name: string;
}

describe('keyedLoader', () => {
  it('aligns results with the keys although the batch returns rows in another order, with `missing` for unmatched keys', async () => {
    const batches: string[][] = [];
    const loader = keyedLoader<string, Row | null, Row>(
      async (keys) => {
        batches.push([...keys]);
        // Reverse order and an unrelated extra row: alignment must not depend on either.
        return [{ id: 'zz', name: 'stray' }, ...keys.filter((k) => k !== 'b').map((id) => ({ id, name: `name-${id}` })).reverse()];
      },
      (row) => row.id,
      { missing: null },
    );
    const results = await Promise.all(['a', 'b', 'c', 'a'].map((k) => loader.load(k)));
    expect(results).toEqual([{ id: 'a', name: 'name-a' }, null, { id: 'c', name: 'name-c' }, { id: 'a', name: 'name-a' }]);
    expect(batches).toEqual([['a', 'b', 'c']]);
  });

  it('batches composite object keys into one call and caches equal keys given as different objects', async () => {
    const batches: Array<readonly { userId: string; days: number }[]> = [];
    const loader = keyedLoader<{ userId: string; days: number }, number[], { userId: string; days: number; value: number }>(
      async (keys) => {
        batches.push(keys);
        return keys.flatMap((k) => (k.userId === 'nobody' ? [] : [{ ...k, value: k.days }, { ...k, value: k.days * 10 }]));
      },
      (row) => JSON.stringify({ userId: row.userId, days: row.days }),
      { missing: [], map: (rows) => rows.map((r) => r.value) },
    );
    const [a, b, again, none] = await Promise.all([
      loader.load({ userId: 'u1', days: 7 }),
      loader.load({ userId: 'u1', days: 30 }),
      loader.load({ userId: 'u1', days: 7 }),
      loader.load({ userId: 'nobody', days: 7 }),
    ]);
    expect(a).toEqual([7, 70]);
    expect(b).toEqual([30, 300]);
    expect(again).toEqual([7, 70]);
    expect(none).toEqual([]);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(3);
  });

  it("collects every row of a key with collect: 'many', and the first one by default", async () => {
    const rows = [
      { owner: 'o1', n: 1 },
      { owner: 'o2', n: 2 },
      { owner: 'o1', n: 3 },
    ];
    const many = keyedLoader<string, typeof rows, (typeof rows)[number]>(async () => rows, (r) => r.owner, { missing: [], collect: 'many' });
    expect(await many.loadMany(['o1', 'o2', 'o3'])).toEqual([[rows[0], rows[2]], [rows[1]], []]);
    const one = keyedLoader<string, (typeof rows)[number] | undefined, (typeof rows)[number]>(async () => rows, (r) => r.owner, { missing: undefined });
    expect(await one.load('o1')).toEqual(rows[0]);
  });

  it('uses a custom cacheKey to match rows', async () => {
    let calls = 0;
    const loader = keyedLoader<{ id: number }, string, { id: number }>(
      async (keys) => {
        calls += 1;
        return keys.map((k) => ({ id: k.id }));
      },
      (row) => `#${row.id}`,
      { missing: 'missing', cacheKey: (k) => `#${k.id}`, map: (r) => `found ${r[0]!.id}` },
    );
    expect(await Promise.all([loader.load({ id: 1 }), loader.load({ id: 2 })])).toEqual(['found 1', 'found 2']);
    expect(calls).toBe(1);
  });
});

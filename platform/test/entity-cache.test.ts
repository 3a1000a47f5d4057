import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../src/cache.js';
import { EntityCaches, type EntityCacheSettings } from '../src/entity-cache.js';
import { createLogger } from '../src/logger.js';

interface Row {
  id: string;
  name: string;
  at: Date;
}

const log = createLogger({ service: 'entity-cache-test', level: 'silent', nodeEnv: 'test' });
const codec = {
  encode: (row: Row) => JSON.stringify(row),
  decode: (text: string) => {
    const row = JSON.parse(text) as Row & { at: string };
    return { ...row, at: new Date(row.at) };
  },
};
const settings: EntityCacheSettings = { enabled: true, localMax: 100, localTtlMs: 60_000, sharedTtlMs: 60_000 };

/** A stand-in database: rows by id, and every batch of ids it was asked for. */
function table(names: Record<string, string>) {
  const rows = new Map(Object.entries(names).map(([id, name]) => [id, { id, name, at: new Date('2026-01-02T03:04:05.000Z') }]));
  const asked: string[][] = [];
  return {
    rows,
    asked,
    load: async (ids: string[]) => {
      asked.push([...ids].sort());
      return ids.flatMap((id) => (rows.has(id) ? [{ ...rows.get(id)! }] : []));
    },
  };
}

const byId = (rows: Row[]) => Object.fromEntries(rows.map((r) => [r.id, r.name]));
const idOf = (row: Row) => row.id;

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 3_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('entity cache in memory (no Redis)', () => {
  it('answers repeated lookups from memory, never caches what was not found, and reads again after an invalidation', async () => {
    const db = table({ a: 'Ann', b: 'Bo' });
    const registry = new Registry();
    const cache = new EntityCaches(settings, undefined, log, registry).cache('thing', codec);

    expect(byId(await cache.loadMany(['a', 'b', 'x'], idOf, db.load))).toEqual({ a: 'Ann', b: 'Bo' });
    expect(byId(await cache.loadMany(['a', 'b', 'x'], idOf, db.load))).toEqual({ a: 'Ann', b: 'Bo' });
    // The second lookup asked the database only for the id that does not exist.
    expect(db.asked).toEqual([['a', 'b', 'x'], ['x']]);

    db.rows.get('a')!.name = 'Anna';
    await cache.invalidate(['a']);
    expect(byId(await cache.loadMany(['a', 'b'], idOf, db.load))).toEqual({ a: 'Anna', b: 'Bo' });
    expect(db.asked.at(-1)).toEqual(['a']);

    const metrics = await registry.getSingleMetricAsString('suoke_entity_cache_lookups_total');
    expect(metrics).toContain('suoke_entity_cache_lookups_total{entity="thing",level="local"} 3');
    expect(metrics).toContain('suoke_entity_cache_lookups_total{entity="thing",level="miss"} 5');
  });

  it('does not keep a row read while an invalidation of it happened', async () => {
    const db = table({ a: 'old' });
    const cache = new EntityCaches(settings, undefined, log).cache('thing', codec);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowRead = cache.loadMany(['a'], idOf, async (ids) => {
      const rows = await db.load(ids);
      await gate; // the write commits and invalidates while this read is in flight
      return rows;
    });
    await until(() => db.asked.length === 1);
    db.rows.get('a')!.name = 'new';
    await cache.invalidate(['a']);
    release();
    expect(byId(await slowRead)).toEqual({ a: 'old' }); // that read's own answer is what it read
    expect(byId(await cache.loadMany(['a'], idOf, db.load))).toEqual({ a: 'new' });
  });

  it('with ENTITY_CACHE off, reads the database every time', async () => {
    const db = table({ a: 'Ann' });
    const cache = new EntityCaches({ ...settings, enabled: false }, undefined, log).cache('thing', codec);
    await cache.loadMany(['a'], idOf, db.load);
    await cache.loadMany(['a'], idOf, db.load);
    expect(db.asked).toEqual([['a'], ['a']]);
  });
});

describe.skipIf(!process.env.REDIS_URL)('entity cache shared through Redis (two replicas)', () => {
  const clients: Redis[] = [];
  const hubs: EntityCaches[] = [];
  const replica = async () => {
    const redis = createRedis(process.env.REDIS_URL!, log);
    clients.push(redis);
    const hub = new EntityCaches(settings, redis, log);
    hubs.push(hub);
    const cache = hub.cache('thing', codec); // the first cache subscribes to invalidations
    await until(() => hub.subscribed);
    return cache;
  };
  afterAll(async () => {
    for (const hub of hubs) await hub.close();
    for (const client of clients) client.disconnect();
  });

  it('serves a row one replica read to the other from Redis, with its dates intact', async () => {
    const id = randomUUID();
    const db = table({ [id]: 'Ann' });
    const [one, two] = [await replica(), await replica()];
    await one.loadMany([id], idOf, db.load);
    await until(async () => (await clients[0]!.exists(`suoke:entity:thing:${id}`)) === 1);
    const [row] = await two.loadMany([id], idOf, db.load);
    expect(db.asked).toEqual([[id]]);
    expect(row).toEqual({ id, name: 'Ann', at: new Date('2026-01-02T03:04:05.000Z') });
  });

  it("drops every replica's copy on a write, so both read the new row", async () => {
    const id = randomUUID();
    const db = table({ [id]: 'old' });
    const [one, two] = [await replica(), await replica()];
    await one.loadMany([id], idOf, db.load);
    await until(async () => (await clients[0]!.exists(`suoke:entity:thing:${id}`)) === 1);
    await two.loadMany([id], idOf, db.load); // now in two's memory
    expect(db.asked).toHaveLength(1);

    db.rows.get(id)!.name = 'new';
    await one.invalidate([id]);
    await until(async () => byId(await two.loadMany([id], idOf, db.load))[id] === 'new');
    expect(byId(await one.loadMany([id], idOf, db.load))).toEqual({ [id]: 'new' });
  });

  it('never writes back to Redis a row read before a write that committed meanwhile (version check)', async () => {
    const id = randomUUID();
    const db = table({ [id]: 'old' });
    const [reader, writer] = [await replica(), await replica()];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slowRead = reader.loadMany([id], idOf, async (ids) => {
      const rows = await db.load(ids);
      await gate;
      return rows;
    });
    await until(() => db.asked.length === 1);
    db.rows.get(id)!.name = 'new';
    await writer.invalidate([id]);
    release();
    await slowRead;
    // Give a fill, were one to happen, time to land; then the shared level must still be empty.
    await clients[0]!.ping();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await clients[0]!.exists(`suoke:entity:thing:${id}`)).toBe(0);
    expect(byId(await writer.loadMany([id], idOf, db.load))).toEqual({ [id]: 'new' });
  });
});

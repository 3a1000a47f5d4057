import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/cache.js';
import { createLogger } from '../../src/logger.js';
import { RateLimitStore, type Counter } from '../../src/rate-limit/index.js';

const counter = (key: string, limit = 30, duration = 60): Counter => ({ key, limit, duration });

describe('the in-memory store (no Redis)', () => {
  it('allows exactly the limit, then says how long to wait', async () => {
    const store = new RateLimitStore(undefined);
    const key = `k:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 40 }, () => store.consume([counter(key)], 1)));
    expect(results.filter((r) => r.allowed === 1)).toHaveLength(30);
    expect(results.filter((r) => r.allowed === 0).every((r) => r.retryAfter >= 1 && r.retryAfter <= 60)).toBe(true);
  });
});

describe.skipIf(!process.env.REDIS_URL)('the Redis store', () => {
  let redis: Redis;
  let other: Redis;
  const prefix = `suoke:test:rl:${randomUUID()}`;
  beforeAll(async () => {
    const log = createLogger({ service: 'test', level: 'silent' });
    redis = createRedis(process.env.REDIS_URL!, log);
    other = createRedis(process.env.REDIS_URL!, log);
    await Promise.all([redis, other].map((client) => new Promise((resolve) => client.once('ready', resolve))));
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    other.disconnect();
  });

  it('sends the counters of one event-loop turn in one Redis call, and counts them exactly', async () => {
    const store = new RateLimitStore(redis, prefix);
    const key = `u:${randomUUID()}`;
    const before = store.stats.redisCalls;
    // 40 requests at once, each with its own caller key plus one shared key (two counters each).
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.consume([counter(key), counter(`ip:${i}`)], 1)));
    expect(store.stats.redisCalls - before).toBe(1);
    expect(results.filter((r) => r.allowed === 1)).toHaveLength(30);
    // The 10 refused calls charged nothing: neither the full key nor their own.
    expect(Number(await redis.get(`${prefix}:30/60:${key}`))).toBe(30);
    expect(await redis.exists(`${prefix}:30/60:ip:39`)).toBe(0);
    expect(await redis.pttl(`${prefix}:30/60:${key}`)).toBeGreaterThan(55_000);
    // The library's own limiter reads the same counter: replicas running either version stay in step.
    const { RateLimiterRedis } = await import('rate-limiter-flexible');
    const library = new RateLimiterRedis({ storeClient: other, points: 30, duration: 60, keyPrefix: `${prefix}:30/60` });
    expect((await library.get(key))?.consumedPoints).toBe(30);
  });

  it('counts several points of one call (aliases) and splits them at the limit', async () => {
    const store = new RateLimitStore(redis, prefix);
    const key = `u:${randomUUID()}`;
    expect(await store.consume([counter(key, 5)], 3)).toMatchObject({ allowed: 3, retryAfter: 0 });
    const second = await store.consume([counter(key, 5)], 3);
    expect(second.allowed).toBe(2);
    expect(second.retryAfter).toBeGreaterThanOrEqual(59);
  });

  it('shares counters between stores (replicas) on one Redis', async () => {
    const a = new RateLimitStore(redis, prefix);
    const b = new RateLimitStore(other, prefix);
    const key = `u:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).consume([counter(key, 12)], 1)));
    expect(results.filter((r) => r.allowed === 1)).toHaveLength(12);
  });

  it('falls back to the per-process insurance limiter while Redis is not ready', async () => {
    const log = createLogger({ service: 'test', level: 'silent' });
    const down = createRedis('redis://127.0.0.1:1', log);
    const store = new RateLimitStore(down, prefix);
    const key = `u:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 8 }, () => store.consume([counter(key, 5)], 1)));
    expect(results.filter((r) => r.allowed === 1)).toHaveLength(5);
    expect(store.stats.insurance).toBe(8);
    expect(store.stats.redisCalls).toBe(0);
    down.disconnect();
  });
});

/** The same contract for the Redis script, the in-memory store and the insurance limiter. */
function allOrNothing(name: string, make: () => RateLimitStore | Promise<RateLimitStore>) {
  describe(`${name}: a call is charged to all of its counters or to none`, () => {
    it('leaves the other counters untouched when one refuses', async () => {
      const store = await make();
      const address = counter(`a:${randomUUID()}`, 3);
      const victims = [counter(`v:${randomUUID()}`, 5), counter(`v:${randomUUID()}`, 5)];
      for (let i = 0; i < 3; i += 1) expect((await store.consume([address, counter(`x:${randomUUID()}`, 5)], 1)).allowed).toBe(1);
      for (const victim of victims) for (let i = 0; i < 4; i += 1) expect((await store.consume([address, victim], 1)).allowed).toBe(0);
      const read = await store.peek([address, ...victims]);
      expect(read.counters.map((c) => c.used)).toEqual([3, 0, 0]);
      // And the other way round: a full per-value counter does not use up the address.
      const other = counter(`a:${randomUUID()}`, 10);
      const victim = counter(`v:${randomUUID()}`, 2);
      const outcomes = [];
      for (let i = 0; i < 6; i += 1) outcomes.push((await store.consume([other, victim], 1)).allowed);
      expect(outcomes).toEqual([1, 1, 0, 0, 0, 0]);
      expect((await store.peek([other])).counters[0]!.used).toBe(2);
    });

    it('splits aliases at the tightest counter, charges forced points whatever the room, and peeks without creating', async () => {
      const store = await make();
      const [wide, tight] = [counter(`w:${randomUUID()}`, 10), counter(`t:${randomUUID()}`, 4)];
      const result = await store.consume([wide, tight], 6);
      expect(result.allowed).toBe(4);
      expect(result.retryAfter).toBeGreaterThanOrEqual(59);
      expect(result.counters.map((c) => c.used)).toEqual([4, 4]);
      await store.consume([tight], 3, { force: true });
      expect((await store.peek([wide, tight])).counters.map((c) => c.used)).toEqual([4, 7]);
      const fresh = await store.peek([counter(`n:${randomUUID()}`)]);
      expect(fresh.counters[0]).toEqual({ used: 0, msLeft: 0 });
    });
  });
}

allOrNothing('memory', () => new RateLimitStore(undefined));
describe.skipIf(!process.env.REDIS_URL)('on Redis', () => {
  const log = createLogger({ service: 'test', level: 'silent' });
  const clients: Redis[] = [];
  afterAll(() => clients.forEach((c) => c.disconnect()));
  allOrNothing('redis', async () => {
    const client = createRedis(process.env.REDIS_URL!, log);
    clients.push(client);
    // Ready first: until then the insurance limiter would answer.
    await new Promise((resolve) => client.once('ready', resolve));
    return new RateLimitStore(client, `suoke:test:rl:${randomUUID()}`);
  });
  allOrNothing('insurance (Redis down)', () => {
    const client = createRedis('redis://127.0.0.1:1', log);
    clients.push(client);
    return new RateLimitStore(client, `suoke:test:rl:${randomUUID()}`);
  });
});

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../src/cache.js';
import { createLogger } from '../src/logger.js';
import { RateLimitStore, type RateLimitRule } from '../src/rate-limit.js';

const rule: RateLimitRule = { limit: 30, duration: 60 };

describe('the in-memory store (no Redis)', () => {
  it('allows exactly the limit, then says how long to wait', async () => {
    const store = new RateLimitStore(undefined);
    const key = `k:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 40 }, () => store.consume(rule, [key], 1)));
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
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.consume(rule, [key, `ip:${i}`], 1)));
    expect(store.stats.redisCalls - before).toBe(1);
    expect(results.filter((r) => r.allowed === 1)).toHaveLength(30);
    expect(Number(await redis.get(`${prefix}:30/60:${key}`))).toBe(40);
    expect(await redis.pttl(`${prefix}:30/60:${key}`)).toBeGreaterThan(55_000);
    // The library's own limiter reads the same counter: replicas running either version stay in step.
    const { RateLimiterRedis } = await import('rate-limiter-flexible');
    const library = new RateLimiterRedis({ storeClient: other, points: 30, duration: 60, keyPrefix: `${prefix}:30/60` });
    expect((await library.get(key))?.consumedPoints).toBe(40);
  });

  it('counts several points of one call (aliases) and splits them at the limit', async () => {
    const store = new RateLimitStore(redis, prefix);
    const key = `u:${randomUUID()}`;
    expect(await store.consume({ limit: 5, duration: 60 }, [key], 3)).toEqual({ allowed: 3, retryAfter: 0 });
    const second = await store.consume({ limit: 5, duration: 60 }, [key], 3);
    expect(second.allowed).toBe(2);
    expect(second.retryAfter).toBeGreaterThanOrEqual(59);
  });

  it('shares counters between stores (replicas) on one Redis', async () => {
    const a = new RateLimitStore(redis, prefix);
    const b = new RateLimitStore(other, prefix);
    const key = `u:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).consume({ limit: 12, duration: 60 }, [key], 1)));
    expect(results.filter((r) => r.allowed === 1)).toHaveLength(12);
  });

  it('falls back to the per-process insurance limiter while Redis is not ready', async () => {
    const log = createLogger({ service: 'test', level: 'silent' });
    const down = createRedis('redis://127.0.0.1:1', log);
    const store = new RateLimitStore(down, prefix);
    const key = `u:${randomUUID()}`;
    const results = await Promise.all(Array.from({ length: 8 }, () => store.consume({ limit: 5, duration: 60 }, [key], 1)));
    expect(results.filter((r) => r.allowed === 1)).toHaveLength(5);
    expect(store.stats.insurance).toBe(8);
    expect(store.stats.redisCalls).toBe(0);
    down.disconnect();
  });
});

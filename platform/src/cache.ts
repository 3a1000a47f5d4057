import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * Apollo's KeyValueCache contract over Redis, for the gateway's automatic
 * persisted queries (and later caches) shared by every replica. A Redis outage
 * degrades to cache misses, logged, never to failed requests.
 */
export class RedisKeyValueCache {
  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly prefix = 'suoke:',
  ) {}

  async get(key: string): Promise<string | undefined> {
    try {
      return (await this.redis.get(this.prefix + key)) ?? undefined;
    } catch (error) {
      this.log.warn({ err: error }, 'redis cache read failed; treated as a miss');
      return undefined;
    }
  }

  async set(key: string, value: string, options?: { ttl?: number | null }): Promise<void> {
    try {
      const ttl = options?.ttl;
      if (ttl && ttl > 0) await this.redis.set(this.prefix + key, value, 'EX', Math.ceil(ttl));
      else await this.redis.set(this.prefix + key, value);
    } catch (error) {
      this.log.warn({ err: error }, 'redis cache write failed; skipped');
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      return (await this.redis.del(this.prefix + key)) > 0;
    } catch {
      return false;
    }
  }
}

/**
 * One ioredis client per process; commands fail fast while disconnected instead
 * of queueing forever. Commands issued in the same event-loop turn leave in one
 * write (auto-pipelining): under load the rate limiter's per-request EVALSHA
 * was one socket write each, a large share of the gateway's CPU.
 */
export function createRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false, enableAutoPipelining: true });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) log.warn({ err: error }, 'redis unavailable');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('redis reconnected');
    down = false;
  });
  return redis;
}

/**
 * Waits until the client is ready, up to `timeoutMs`. Services call it before
 * listening so that their first requests count on the shared counters rather
 * than on the per-process fallback; a Redis that stays down only delays start.
 */
export async function redisReady(redis: Redis, log: Logger, timeoutMs = 3_000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
  if (!ready) log.warn({ timeoutMs }, 'redis not ready at start: rate limits use the per-process fallback until it is');
  return ready;
}

import { LRUCache } from 'lru-cache';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

/**
 * The multi-level cache of hot entities (the seed document's 多级缓存): an
 * in-process LRU (L1) in front of Redis (L2, shared by every replica) in front
 * of the database. Writers invalidate by id; every replica drops its L1 copy
 * on the invalidation message.
 *
 * Freshness, which is what a cache in front of user data must get right:
 * - A write deletes the L2 entry and bumps the entry's version in one MULTI,
 *   then publishes the id. A reader that missed fills L2 only if the version
 *   it read before querying the database is still current (a Lua check), so a
 *   read that raced a write never puts the old row back.
 * - L1 is filled only when no invalidation arrived while the read was in flight,
 *   and only while the invalidation channel is subscribed: when it drops, L1 is
 *   emptied and bypassed until it is back (messages may have been missed).
 * - Both levels expire (L1 after `localTtlMs`, L2 after `sharedTtlMs`): that
 *   bounds how long a failed invalidation (Redis unreachable at write time,
 *   counted in a metric) can serve an old value.
 * Without Redis (one process, embedded default) there is L1 alone, invalidated in place.
 * Rows that were not found are never cached.
 */
export interface EntityCodec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

export interface EntityCacheSettings {
  /** false (ENTITY_CACHE=off): every lookup goes to the database. */
  enabled: boolean;
  /** L1 entries kept per entity type. */
  localMax: number;
  localTtlMs: number;
  sharedTtlMs: number;
}

const CHANNEL = 'suoke:entity:invalidate';
const valueKey = (entity: string, id: string) => `suoke:entity:${entity}:${id}`;
const versionKey = (entity: string, id: string) => `suoke:entity:${entity}:v:${id}`;

// KEYS: value1, version1, value2, version2, …; ARGV: ttl ms, then per entry the version read before the query ('' for none) and the value.
const FILL = `
local n = 0
for i = 1, #KEYS, 2 do
  local seen = ARGV[i + 1]
  local current = redis.call('GET', KEYS[i + 1]) or ''
  if current == seen then
    redis.call('SET', KEYS[i], ARGV[i + 2], 'PX', ARGV[1])
    n = n + 1
  end
end
return n
`;

type Outcome = 'local' | 'shared' | 'miss';

export class EntityCaches {
  private readonly caches = new Map<string, EntityCache<unknown>>();
  private subscriber: Redis | undefined;
  /** True while invalidations are being received (always, without Redis). */
  subscribed: boolean;
  readonly lookups: Counter<'entity' | 'level'>;
  readonly invalidationFailures: Counter<'entity'>;

  constructor(
    readonly settings: EntityCacheSettings,
    private readonly redis: Redis | undefined,
    private readonly log: Logger,
    registry?: Registry,
  ) {
    const registers = registry ? [registry] : [];
    this.lookups = new Counter({
      name: 'suoke_entity_cache_lookups_total',
      help: 'Entity lookups by where they were answered: local (L1 memory), shared (L2 Redis) or miss (the database)',
      labelNames: ['entity', 'level'],
      registers,
    });
    this.invalidationFailures = new Counter({
      name: 'suoke_entity_cache_invalidation_failures_total',
      help: 'Writes whose cache invalidation could not reach Redis (the old value may be served until it expires)',
      labelNames: ['entity'],
      registers,
    });
    this.subscribed = !redis;
  }

  /**
   * Invalidations are listened for from the first cache on, so a process that
   * caches nothing holds no subscriber connection.
   */
  private subscribe(redis: Redis) {
    redis.defineCommand('suokeEntityFill', { lua: FILL });
    const subscriber = redis.duplicate({ enableAutoPipelining: false });
    this.subscriber = subscriber;
    subscriber.on('error', () => {}); // the main client already reports Redis being down
    subscriber.on('message', (_channel: string, message: string) => this.receive(message));
    // Missed messages cannot be known: L1 is dropped whenever the subscription is (re)established or lost.
    subscriber.on('ready', () => {
      subscriber.subscribe(CHANNEL).then(
        () => {
          for (const cache of this.caches.values()) cache.clearLocal();
          this.subscribed = true;
        },
        (error: Error) => this.log.warn({ err: error }, 'entity cache: subscribing to invalidations failed; memory cache bypassed'),
      );
    });
    subscriber.on('close', () => {
      this.subscribed = false;
      for (const cache of this.caches.values()) cache.clearLocal();
    });
  }

  /** The cache of one entity type; the same instance for the same name. */
  cache<T>(entity: string, codec: EntityCodec<T>): EntityCache<T> {
    let cache = this.caches.get(entity) as EntityCache<T> | undefined;
    if (!cache) {
      if (this.redis && !this.subscriber) this.subscribe(this.redis);
      cache = new EntityCache<T>(entity, codec, this, this.redis, this.log);
      this.caches.set(entity, cache as EntityCache<unknown>);
    }
    return cache;
  }

  /** @internal */
  count(entity: string, level: Outcome, n: number) {
    if (n > 0) this.lookups.inc({ entity, level }, n);
  }

  private receive(message: string) {
    const [entity, ids] = message.split('\n', 2);
    const cache = entity ? this.caches.get(entity) : undefined;
    if (cache && ids) cache.forgetLocal(ids.split(','));
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
  }

  /** @internal */
  get channel() {
    return CHANNEL;
  }
}

export class EntityCache<T> {
  private readonly local: LRUCache<string, { value: T }>;
  /** Bumped by every invalidation this process learns of: fills from reads that overlapped one are skipped. */
  private generation = 0;

  constructor(
    readonly entity: string,
    private readonly codec: EntityCodec<T>,
    private readonly hub: EntityCaches,
    private readonly redis: Redis | undefined,
    private readonly log: Logger,
  ) {
    this.local = new LRUCache({ max: hub.settings.localMax, ttl: Math.max(1, hub.settings.localTtlMs) });
  }

  /**
   * The entities with these ids that exist, in no particular order (a
   * DataLoader batch function's contract): from L1, then L2, then `load` for the
   * rest, which fills both levels.
   */
  async loadMany(ids: readonly string[], idOf: (value: T) => string, load: (ids: string[]) => Promise<T[]>): Promise<T[]> {
    if (!this.hub.settings.enabled) return load([...ids]);
    const found: T[] = [];
    let missing: string[] = [];
    const useLocal = this.hub.subscribed && this.hub.settings.localTtlMs > 0;
    for (const id of ids) {
      const hit = useLocal ? this.local.get(id) : undefined;
      if (hit) found.push(hit.value);
      else missing.push(id);
    }
    this.hub.count(this.entity, 'local', found.length);
    if (missing.length === 0) return found;

    const generation = this.generation;
    let versions: string[] | undefined;
    if (this.redis && this.redis.status === 'ready') {
      try {
        const keys = missing.flatMap((id) => [valueKey(this.entity, id), versionKey(this.entity, id)]);
        const values = await this.redis.mget(keys);
        const stillMissing: string[] = [];
        versions = [];
        let shared = 0;
        missing.forEach((id, i) => {
          const text = values[2 * i];
          if (text) {
            const value = this.codec.decode(text);
            found.push(value);
            shared += 1;
            if (useLocal && generation === this.generation) this.local.set(id, { value });
          } else {
            stillMissing.push(id);
            versions!.push(values[2 * i + 1] ?? '');
          }
        });
        this.hub.count(this.entity, 'shared', shared);
        missing = stillMissing;
      } catch (error) {
        versions = undefined;
        this.log.warn({ err: error, entity: this.entity }, 'entity cache: Redis read failed; reading the database');
      }
      if (missing.length === 0) return found;
    }

    this.hub.count(this.entity, 'miss', missing.length);
    const loaded = await load(missing);
    found.push(...loaded);
    if (useLocal && generation === this.generation && this.hub.subscribed) {
      for (const value of loaded) this.local.set(idOf(value), { value });
    }
    if (versions && loaded.length > 0) {
      const position = new Map(missing.map((id, i) => [id, i]));
      const keys: string[] = [];
      const args: string[] = [String(this.hub.settings.sharedTtlMs)];
      for (const value of loaded) {
        const id = idOf(value);
        const i = position.get(id);
        if (i === undefined) continue;
        keys.push(valueKey(this.entity, id), versionKey(this.entity, id));
        args.push(versions[i] ?? '', this.codec.encode(value));
      }
      if (keys.length > 0) {
        // Not awaited by the reader: the answer is already known.
        (this.redis as Redis & { suokeEntityFill(n: number, ...a: string[]): Promise<number> })
          .suokeEntityFill(keys.length, ...keys, ...args)
          .catch((error: Error) => this.log.warn({ err: error, entity: this.entity }, 'entity cache: Redis fill failed'));
      }
    }
    return found;
  }

  /**
   * After a write to these entities (call it once the write is committed):
   * drops them here, in Redis, and in every replica's memory.
   */
  async invalidate(ids: readonly string[]): Promise<void> {
    if (ids.length === 0 || !this.hub.settings.enabled) return;
    this.forgetLocal(ids);
    if (!this.redis) return;
    try {
      const multi = this.redis.multi();
      for (const id of ids) {
        multi.del(valueKey(this.entity, id));
        multi.incr(versionKey(this.entity, id));
        // Outlives any read in flight (which compares against it), then goes.
        multi.pexpire(versionKey(this.entity, id), this.hub.settings.sharedTtlMs * 2);
      }
      multi.publish(this.hub.channel, `${this.entity}\n${ids.join(',')}`);
      const results = await multi.exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('MULTI aborted');
    } catch (error) {
      this.hub.invalidationFailures.inc({ entity: this.entity });
      this.log.error({ err: error, entity: this.entity, count: ids.length }, 'entity cache: invalidation did not reach Redis; other replicas may serve the old value until it expires');
    }
  }

  /** @internal Drops L1 entries (an invalidation from this or another replica). */
  forgetLocal(ids: readonly string[]) {
    this.generation += 1;
    for (const id of ids) this.local.delete(id);
  }

  /** @internal */
  clearLocal() {
    this.generation += 1;
    this.local.clear();
  }
}

import type { Redis, Result } from 'ioredis';

/** One fixed-window counter: `limit` points per `duration` seconds on `key`. */
export interface Counter {
  key: string;
  limit: number;
  duration: number;
}

/** A counter after the call: points in its window, and milliseconds until the window resets (0 when it has none). */
export interface CounterState {
  used: number;
  msLeft: number;
}

export interface ConsumeResult {
  /** Of the `points` asked for, how many fit under every counter (and were charged to every counter). */
  allowed: number;
  /** Seconds until the tightest counter with too little room resets (0 when everything fitted). */
  retryAfter: number;
  /** Each counter's state after the call, in the order given. */
  counters: CounterState[];
}

export interface ConsumeOptions {
  /** Charge every counter whatever its room (failures that already happened): nothing is refused. */
  force?: boolean;
}

/**
 * For many calls in one script run: each call checks all of its counters and
 * charges them only with the points that fit under every one of them, so a
 * counter that refuses never leaves the others charged (no collateral
 * lockout). Points 0 reads the counters. Counters are rate-limiter-flexible's
 * fixed window (a count that expires `duration` after its first point): same
 * keys and values as the library's, so replicas running either stay in step.
 * Three commands per counter (GET, SET or INCRBY, PTTL), as the library's script.
 * ARGV per call: number of counters, points, force (0/1), then limit and duration per counter.
 * Reply per call: allowed, ms to wait, then used and ms left per counter.
 */
const CONSUME_MANY_LUA = `
local out = {}
local a = 1
local k = 0
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local points = tonumber(ARGV[a + 1])
  local force = ARGV[a + 2] == '1'
  a = a + 3
  local allowed = points
  local used = {}
  for j = 1, n do
    used[j] = tonumber(redis.call('get', KEYS[k + j]) or '0')
    if not force then
      local room = tonumber(ARGV[a + 2 * j - 2]) - used[j]
      if room < 0 then room = 0 end
      if room < allowed then allowed = room end
    end
  end
  local wait = 0
  local states = {}
  for j = 1, n do
    local key = KEYS[k + j]
    local limit = tonumber(ARGV[a + 2 * j - 2])
    local duration = ARGV[a + 2 * j - 1]
    local short = (not force) and (limit - used[j] < points)
    if allowed > 0 then
      if used[j] == 0 then
        redis.call('set', key, allowed, 'EX', duration)
        used[j] = allowed
      else
        used[j] = redis.call('incrby', key, allowed)
      end
    end
    local ttl = redis.call('pttl', key)
    if ttl == -1 then
      redis.call('expire', key, duration)
      ttl = 1000 * tonumber(duration)
    end
    if ttl < 0 then ttl = 0 end
    if short and ttl > wait then wait = ttl end
    states[2 * j - 1] = used[j]
    states[2 * j] = ttl
  end
  out[#out + 1] = allowed
  out[#out + 1] = wait
  for _, v in ipairs(states) do out[#out + 1] = v end
  a = a + 2 * n
  k = k + n
end
return out`;

/** Counters one Redis call carries at most (the script runs them one after another inside Redis). */
const MAX_BATCH = 256;

interface Call {
  keys: string[];
  counters: readonly Counter[];
  points: number;
  force: boolean;
}

interface Pending extends Call {
  resolve: (result: Raw) => void;
  reject: (error: unknown) => void;
}

interface Raw {
  allowed: number;
  waitMs: number;
  counters: CounterState[];
}

// ioredis's documented way to type a command added with defineCommand.
declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** CONSUME_MANY_LUA, defined by RateLimitStore on the clients it is given. */
    suokeRateConsume(numberOfKeys: number, ...args: (string | number)[]): Result<number[], Context>;
  }
}

/**
 * The same semantics as the script, in this process: the store without Redis,
 * and the insurance limiter while Redis is down. Expired windows are dropped on
 * access and swept every few seconds, so memory follows the keys in use.
 */
class MemoryCounters {
  private readonly windows = new Map<string, { used: number; resetAt: number }>();
  private lastSweep = Date.now();

  apply(call: Call): Raw {
    const now = Date.now();
    if (now - this.lastSweep > 5_000) this.sweep(now);
    const live = call.keys.map((key) => {
      const window = this.windows.get(key);
      return window && window.resetAt > now ? window : undefined;
    });
    let allowed = call.points;
    if (!call.force) live.forEach((w, i) => (allowed = Math.min(allowed, Math.max(0, call.counters[i]!.limit - (w?.used ?? 0)))));
    let waitMs = 0;
    const counters = call.counters.map((counter, i) => {
      let window = live[i];
      const short = !call.force && counter.limit - (window?.used ?? 0) < call.points;
      if (allowed > 0) {
        if (!window) this.windows.set(call.keys[i]!, (window = { used: 0, resetAt: now + counter.duration * 1000 }));
        window.used += allowed;
      }
      const msLeft = window ? window.resetAt - now : 0;
      if (short) waitMs = Math.max(waitMs, msLeft);
      return { used: window?.used ?? 0, msLeft };
    });
    return { allowed, waitMs, counters };
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}

/**
 * Counters behind the limits. With Redis, every call made during one turn of
 * the event loop, by any request, goes to Redis in one script call
 * (`CONSUME_MANY_LUA`): under load the gateway's limiter then costs a fraction
 * of a Redis command per operation instead of one each, and each call is
 * atomic, since Redis runs the script as one step. When Redis is not ready or
 * the call fails, the per-process `MemoryCounters` answer with the same limits
 * (the insurance limiter). Without Redis, those are the store. Assumes one
 * Redis (or a primary), not a Redis Cluster: the keys of a batch span hash slots.
 */
export class RateLimitStore {
  private readonly memory = new MemoryCounters();
  private pending: Pending[] = [];
  private flushScheduled = false;
  /** Per-process totals for metrics and tests. */
  readonly stats = { consumed: 0, rejected: 0, redisCalls: 0, insurance: 0 };
  /** The last call sent to Redis failed; cleared by the next one that succeeds, or when the client is ready again. */
  private redisFailing = false;

  constructor(
    private readonly redis: Redis | undefined,
    private readonly prefix = 'suoke:rl',
  ) {
    if (redis && typeof redis.suokeRateConsume !== 'function') {
      redis.defineCommand('suokeRateConsume', { lua: CONSUME_MANY_LUA });
    }
    redis?.on('ready', () => {
      this.redisFailing = false;
    });
  }

  /**
   * Whether the limits run on the per-process insurance limiter because Redis failed: Redis is configured and
   * its client is not ready, or the last call to it failed. Never true without Redis (memory is then the store).
   */
  get insuranceMode(): boolean {
    if (!this.redis) return false;
    return this.redis.status !== 'ready' || this.redisFailing;
  }

  get kind(): 'redis' | 'memory' {
    return this.redis ? 'redis' : 'memory';
  }

  /**
   * Charges `points` to every counter, all or nothing per point: only the
   * points that fit under all of them are charged, to all of them. Points 0
   * reads them; `force` charges them whatever their room.
   */
  async consume(counters: readonly Counter[], points: number, options: ConsumeOptions = {}): Promise<ConsumeResult> {
    const call: Call = {
      keys: counters.map((c) => `${this.prefix}:${c.limit}/${c.duration}:${c.key}`),
      counters,
      points,
      force: options.force === true,
    };
    const raw = this.redis ? await this.enqueue(call) : this.memory.apply(call);
    if (points > 0 && !call.force) {
      this.stats.consumed += points;
      this.stats.rejected += points - raw.allowed;
    }
    const retryAfter = raw.allowed < points && !call.force ? Math.max(1, Math.ceil(raw.waitMs / 1000)) : 0;
    return { allowed: raw.allowed, retryAfter, counters: raw.counters };
  }

  /** The counters' states, charging nothing. */
  peek(counters: readonly Counter[]): Promise<ConsumeResult> {
    return this.consume(counters, 0);
  }

  private enqueue(call: Call): Promise<Raw> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ...call, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const pending = this.pending;
    this.pending = [];
    let batch: Pending[] = [];
    let keys = 0;
    for (const call of pending) {
      if (keys + call.keys.length > MAX_BATCH && batch.length > 0) {
        void this.send(batch);
        batch = [];
        keys = 0;
      }
      batch.push(call);
      keys += call.keys.length;
    }
    if (batch.length > 0) void this.send(batch);
  }

  private async send(batch: Pending[]): Promise<void> {
    // Only called when the store has a client (enqueue).
    const redis = this.redis!;
    if (redis.status === 'ready') {
      try {
        const keys: string[] = [];
        const args: (string | number)[] = [];
        for (const p of batch) {
          keys.push(...p.keys);
          args.push(p.counters.length, p.points, p.force ? 1 : 0);
          for (const c of p.counters) args.push(c.limit, c.duration);
        }
        this.stats.redisCalls += 1;
        const out = await redis.suokeRateConsume(keys.length, ...keys, ...args);
        let at = 0;
        for (const p of batch) {
          const allowed = Number(out[at]);
          const waitMs = Number(out[at + 1]);
          at += 2;
          const counters = p.counters.map((_, i) => ({ used: Number(out[at + 2 * i]), msLeft: Number(out[at + 2 * i + 1]) }));
          at += 2 * p.counters.length;
          p.resolve({ allowed, waitMs, counters });
        }
        this.redisFailing = false;
        return;
      } catch {
        // Redis failed this call: the insurance limiter answers it (the cache module logs Redis going down).
        this.redisFailing = true;
      }
    }
    this.stats.insurance += batch.length;
    for (const p of batch) {
      try {
        p.resolve(this.memory.apply(p));
      } catch (error) {
        p.reject(error);
      }
    }
  }
}

import { readFileSync } from 'node:fs';
import { GraphQLError, Kind, parse, type DocumentNode, type GraphQLResolveInfo, type GraphQLSchema, type ConstDirectiveNode } from 'graphql';
import { rateLimitDirective } from 'graphql-rate-limit-directive';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import { isServiceSubject } from './auth.js';

/**
 * Rate limits declared in SDL with `@rateLimit`, enforced by the gateway before
 * fan-out and by every subgraph, on counters shared through Redis.
 *
 * - One definition (`platform/rate-limit.graphql`), linked by each subgraph from
 *   RATE_LIMIT_SPEC_URL and kept in the supergraph with `@composeDirective`.
 * - Keys: field coordinate + user id, or client IP when anonymous; `alsoPer`
 *   adds a counter per argument value (login: per normalised email).
 * - Store: Redis when REDIS_URL is set (counters of one event-loop turn batched
 *   into one script call; rate-limiter-flexible's keys and window), memory otherwise.
 *   Policy when Redis fails: each process falls back to an in-memory insurance
 *   limiter with the same limit (so N replicas may together allow up to N× the
 *   limit while Redis is down) and returns to Redis by itself when it is back.
 * - Through the gateway, counters are consumed once, at the gateway: it sends the
 *   subgraph a per-field budget (trusted only with the gateway secret) and the
 *   subgraph enforces that without touching Redis. Called directly, a subgraph
 *   consumes the counters itself.
 */
export const RATE_LIMIT_SPEC_URL = 'https://specs.suoke.life/rateLimit/v1.0';
export const RATE_LIMITED = 'RATE_LIMITED';
export const CLIENT_IP_HEADER = 'x-suoke-client-ip';
export const RATE_BUDGET_HEADER = 'x-suoke-rate-budget';

/** The directive definition, read once from the file that composition and codegen also use. */
export const rateLimitDirectiveSDL = readFileSync(new URL('../rate-limit.graphql', import.meta.url), 'utf8');

export interface RateLimitRule {
  limit: number;
  duration: number;
  alsoPer?: string | undefined;
  message?: string | undefined;
}

/** Applies to root fields that declare no limit of their own. */
export const DEFAULT_ROOT_RULE: RateLimitRule = { limit: 300, duration: 60 };

export interface RateLimitIdentity {
  userId?: string | undefined;
  ip: string;
}

/** Whether an SDL links the rate-limit spec (and so needs the definition appended). */
export function linksRateLimit(sdl: string): boolean {
  return sdl.includes(RATE_LIMIT_SPEC_URL);
}

/** The counter keys of one field call: per caller, plus per `alsoPer` argument value. */
export function rateLimitKeys(coordinate: string, rule: RateLimitRule, identity: RateLimitIdentity, args: Record<string, unknown>): string[] {
  const keys = [`${coordinate}:${identity.userId ? `u:${identity.userId}` : `ip:${identity.ip}`}`];
  if (rule.alsoPer) {
    const value = rule.alsoPer.split('.').reduce<unknown>((v, part) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined), args);
    if (typeof value === 'string' && value.trim() !== '') keys.push(`${coordinate}:${rule.alsoPer}:${value.trim().toLowerCase()}`);
  }
  return keys;
}

export function rateLimitedError(retryAfterSeconds: number, message?: string): GraphQLError {
  return new GraphQLError(message ?? `Too many requests: try again in ${retryAfterSeconds} s`, {
    extensions: { code: RATE_LIMITED, retryAfter: retryAfterSeconds },
  });
}

export interface ConsumeResult {
  /** Of the `points` asked for, how many fit in the window (calls beyond them are rejected). */
  allowed: number;
  /** Seconds until the window with no room left resets (0 when everything fitted). */
  retryAfter: number;
}

/** A counter after one consume: points in the window so far, and milliseconds until the window resets. */
interface Counted {
  consumedPoints: number;
  msBeforeNext: number;
}

/**
 * rate-limiter-flexible's fixed window (its `RateLimiterRedis` script: SET NX EX,
 * INCRBY, PTTL), for many keys in one call: KEYS are the counters, ARGV holds
 * points and duration (seconds) per key. Same keys and values as the library's,
 * so replicas running either stay in step.
 */
const CONSUME_MANY_LUA = `
local out = {}
for i, key in ipairs(KEYS) do
  local points = ARGV[2 * i - 1]
  local duration = ARGV[2 * i]
  redis.call('set', key, 0, 'EX', duration, 'NX')
  local consumed = redis.call('incrby', key, points)
  local ttl = redis.call('pttl', key)
  if ttl == -1 then
    redis.call('expire', key, duration)
    ttl = 1000 * duration
  end
  out[2 * i - 1] = consumed
  out[2 * i] = ttl
end
return out`;

/** Counters one Redis call carries at most (the script runs them one after another inside Redis). */
const MAX_BATCH = 256;

interface Pending {
  key: string;
  points: number;
  rule: RateLimitRule;
  resolve: (counted: Counted) => void;
  reject: (error: unknown) => void;
}

type BatchingRedis = Redis & { suokeRateConsume(numberOfKeys: number, ...args: (string | number)[]): Promise<number[]> };

/**
 * Counters behind the limits. With Redis, every counter consumed during one
 * turn of the event loop, by any request, goes to Redis in one script call
 * (`CONSUME_MANY_LUA`): under load the gateway's limiter then costs a fraction
 * of a Redis command per operation instead of one each, and the counts stay
 * exact, since Redis runs the script atomically. When Redis is not ready or
 * the call fails, each counter falls back to a per-process in-memory
 * rate-limiter-flexible limiter with the same limit (the insurance limiter).
 * Without Redis, those in-memory limiters are the store. Assumes one Redis
 * (or a primary), not a Redis Cluster: the keys of a batch span hash slots.
 */
export class RateLimitStore {
  private readonly memory = new Map<string, RateLimiterMemory>();
  private pending: Pending[] = [];
  private flushScheduled = false;
  /** Per-process totals for metrics and tests. */
  readonly stats = { consumed: 0, rejected: 0, redisCalls: 0, insurance: 0 };

  constructor(
    private readonly redis: Redis | undefined,
    private readonly prefix = 'suoke:rl',
  ) {
    if (redis && typeof (redis as unknown as Partial<BatchingRedis>).suokeRateConsume !== 'function') {
      redis.defineCommand('suokeRateConsume', { lua: CONSUME_MANY_LUA });
    }
  }

  get kind(): 'redis' | 'memory' {
    return this.redis ? 'redis' : 'memory';
  }

  private ruleId(rule: RateLimitRule): string {
    return `${rule.limit}/${rule.duration}`;
  }

  /** The in-memory limiter of a rule: the store without Redis, the insurance with it. */
  private memoryLimiter(rule: RateLimitRule): RateLimiterMemory {
    const id = this.ruleId(rule);
    let limiter = this.memory.get(id);
    if (!limiter) {
      limiter = new RateLimiterMemory({ points: rule.limit, duration: rule.duration, keyPrefix: `${this.prefix}:${id}` });
      this.memory.set(id, limiter);
    }
    return limiter;
  }

  private async consumeInMemory(rule: RateLimitRule, key: string, points: number): Promise<Counted> {
    try {
      return await this.memoryLimiter(rule).consume(key, points);
    } catch (rejection) {
      if (rejection instanceof Error) throw rejection;
      return rejection as RateLimiterRes;
    }
  }

  private consumeOne(rule: RateLimitRule, key: string, points: number): Promise<Counted> {
    if (!this.redis) return this.consumeInMemory(rule, key, points);
    return new Promise((resolve, reject) => {
      this.pending.push({ key, points, rule, resolve, reject });
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
    for (let i = 0; i < pending.length; i += MAX_BATCH) void this.send(pending.slice(i, i + MAX_BATCH));
  }

  private async send(batch: Pending[]): Promise<void> {
    const redis = this.redis as unknown as BatchingRedis;
    if (redis.status === 'ready') {
      try {
        const args: (string | number)[] = batch.map((p) => `${this.prefix}:${this.ruleId(p.rule)}:${p.key}`);
        for (const p of batch) args.push(p.points, p.rule.duration);
        this.stats.redisCalls += 1;
        const out = await redis.suokeRateConsume(batch.length, ...args);
        batch.forEach((p, i) => p.resolve({ consumedPoints: Number(out[2 * i]), msBeforeNext: Math.max(0, Number(out[2 * i + 1])) }));
        return;
      } catch {
        // Redis failed this call: the insurance limiter answers it (the cache module logs Redis going down).
      }
    }
    this.stats.insurance += batch.length;
    // Each caller gets its own answer or error; none is left waiting.
    for (const p of batch) await this.consumeInMemory(p.rule, p.key, p.points).then(p.resolve, p.reject);
  }

  /** Consumes `points` on every key (one batched Redis call per event-loop turn); the tightest key decides. */
  async consume(rule: RateLimitRule, keys: readonly string[], points: number): Promise<ConsumeResult> {
    const results = await Promise.all(keys.map((key) => this.consumeOne(rule, key, points)));
    let allowed = points;
    let retryAfter = 0;
    for (const res of results) {
      const before = res.consumedPoints - points;
      const fits = Math.max(0, Math.min(points, rule.limit - before));
      if (fits < points) retryAfter = Math.max(retryAfter, Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
      allowed = Math.min(allowed, fits);
    }
    this.stats.consumed += points;
    this.stats.rejected += points - allowed;
    return { allowed, retryAfter };
  }
}

/** Per-field decisions the gateway took: response key → 0 (allowed) or seconds to wait (rejected). */
export type RateBudget = Record<string, Record<string, number>>;

export function encodeBudget(budget: RateBudget): string {
  return JSON.stringify(budget);
}

export function decodeBudget(header: string | undefined): RateBudget | undefined {
  if (!header) return undefined;
  try {
    const parsed: unknown = JSON.parse(header);
    return parsed && typeof parsed === 'object' ? (parsed as RateBudget) : undefined;
  } catch {
    return undefined;
  }
}

/** What a subgraph's rate-limit wrapper reads from the request context. */
export interface RateLimitContext {
  rateLimit: {
    identity: RateLimitIdentity;
    /** Present only on requests from the gateway (verified by the shared secret). */
    budget?: RateBudget | undefined;
  };
}

function ruleFrom(args: { limit: number; duration: number; alsoPer?: string | null; message?: string | null }): RateLimitRule {
  return { limit: args.limit, duration: args.duration, alsoPer: args.alsoPer ?? undefined, message: args.message ?? undefined };
}

/**
 * Applies `@rateLimit` (and the default on unlabelled root fields) to a built
 * subgraph schema with graphql-rate-limit-directive. A field the gateway already
 * decided on is answered from the budget; otherwise its counters are consumed here.
 */
export function applyRateLimits(schema: GraphQLSchema, store: RateLimitStore): GraphQLSchema {
  const coordinateOf = (info: GraphQLResolveInfo) => `${info.parentType.name}.${info.fieldName}`;
  const { rateLimitDirectiveTransformer } = rateLimitDirective<RateLimitContext & Record<string, unknown>>({
    name: 'rateLimit',
    pointsCalculator: (directiveArgs, _source, _args, ctx, info) => {
      if (isServiceSubject(ctx.rateLimit?.identity.userId)) return 0;
      const decided = ctx.rateLimit?.budget?.[coordinateOf(info)];
      const key = String(info.path.key);
      if (decided && key in decided) {
        const retryAfter = decided[key] ?? 0;
        if (retryAfter > 0) throw rateLimitedError(retryAfter, ruleFrom(directiveArgs as never).message);
        return 0;
      }
      return 1;
    },
    keyGenerator: (directiveArgs, _source, args, ctx, info) =>
      rateLimitKeys(coordinateOf(info), ruleFrom(directiveArgs as never), ctx.rateLimit?.identity ?? { ip: 'unknown' }, args).join('\n'),
    limiterClass: StoreLimiter as never,
    limiterOptions: { store } as never,
    onLimit: (response, directiveArgs) => {
      throw rateLimitedError(Math.max(1, Math.ceil(response.msBeforeNext / 1000)), ruleFrom(directiveArgs as never).message);
    },
  });
  return rateLimitDirectiveTransformer(schema);
}

/** The library calls `consume(key, points)`; our keys are newline-joined and consumed together. */
class StoreLimiter {
  private readonly store: RateLimitStore;
  private readonly rule: RateLimitRule;
  constructor(options: { store: RateLimitStore; points: number; duration: number }) {
    this.store = options.store;
    this.rule = { limit: options.points, duration: options.duration };
  }
  async consume(key: string, points: number) {
    const result = await this.store.consume(this.rule, key.split('\n'), points);
    const res = { msBeforeNext: result.retryAfter * 1000, remainingPoints: 0, consumedPoints: this.rule.limit + 1, isFirstInDuration: false };
    if (result.allowed < points) throw res;
    return res;
  }
}

/** Reads `@rateLimit` rules per field coordinate from an SDL (a subgraph's or the supergraph). */
export function rateLimitRules(doc: DocumentNode): { fields: Map<string, RateLimitRule>; types: Map<string, RateLimitRule> } {
  const fields = new Map<string, RateLimitRule>();
  const types = new Map<string, RateLimitRule>();
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const typeRule = ruleOf(def.directives);
    if (typeRule) types.set(def.name.value, typeRule);
    for (const field of def.fields ?? []) {
      const rule = ruleOf(field.directives);
      if (rule) fields.set(`${def.name.value}.${field.name.value}`, rule);
    }
  }
  return { fields, types };
}

function ruleOf(directives: readonly ConstDirectiveNode[] | undefined): RateLimitRule | undefined {
  const node = directives?.find((d) => d.name.value === 'rateLimit');
  if (!node) return undefined;
  const rule: RateLimitRule = { limit: 60, duration: 60 };
  for (const arg of node.arguments ?? []) {
    const v = arg.value;
    if ((arg.name.value === 'limit' || arg.name.value === 'duration') && v.kind === Kind.INT) rule[arg.name.value] = Number(v.value);
    if ((arg.name.value === 'alsoPer' || arg.name.value === 'message') && v.kind === Kind.STRING) rule[arg.name.value] = v.value;
  }
  return rule;
}

const ROOT_TYPES = new Set(['Query', 'Mutation']);

/**
 * The SDL a subgraph is built from at run time: the directive definition added
 * when missing, and the default rule written onto every root field that declares
 * none (so the served `_service` SDL shows what is enforced).
 */
export function withRateLimitDefaults(doc: DocumentNode, rule: RateLimitRule = DEFAULT_ROOT_RULE): DocumentNode {
  const defined = doc.definitions.some((d) => d.kind === Kind.DIRECTIVE_DEFINITION && d.name.value === 'rateLimit');
  const definitions = doc.definitions.map((def) => {
    if ((def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) || !ROOT_TYPES.has(def.name.value)) return def;
    if (ruleOf(def.directives)) return def;
    return {
      ...def,
      fields: def.fields?.map((field) => (ruleOf(field.directives) ? field : { ...field, directives: [...(field.directives ?? []), directiveNode(rule)] })),
    };
  });
  const extra = defined ? [] : parse(rateLimitDirectiveSDL).definitions;
  return { ...doc, definitions: [...definitions, ...extra] };
}

function directiveNode(rule: RateLimitRule): ConstDirectiveNode {
  const int = (value: number) => ({ kind: Kind.INT, value: String(value) }) as const;
  return {
    kind: Kind.DIRECTIVE,
    name: { kind: Kind.NAME, value: 'rateLimit' },
    arguments: [
      { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'limit' }, value: int(rule.limit) },
      { kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'duration' }, value: int(rule.duration) },
    ],
  };
}

import { readFileSync } from 'node:fs';
import { GraphQLError, Kind, parse, type DocumentNode, type GraphQLResolveInfo, type GraphQLSchema, type ConstDirectiveNode } from 'graphql';
import { rateLimitDirective } from 'graphql-rate-limit-directive';
import { isServiceSubject } from './auth/index.js';
import { rateLimitCounters, type RateLimitIdentity, type RateLimitRule } from './rate-limit-keys.js';
import type { Counter, RateLimitStore } from './rate-limit-store.js';

export * from './rate-limit-keys.js';
export * from './rate-limit-store.js';

/**
 * Rate limits declared in SDL with `@rateLimit`, enforced by the gateway before
 * fan-out and by every subgraph, on counters shared through Redis.
 *
 * - One definition (`platform/rate-limit.graphql`), linked by each subgraph from
 *   RATE_LIMIT_SPEC_URL and kept in the supergraph with `@composeDirective`.
 * - Keys (rate-limit-keys.ts): field coordinate + user id, or client address
 *   (an IPv6 /64) when anonymous or with `by: "address"`; `alsoPer` adds a
 *   counter per (caller, argument value), the value hashed.
 * - Store (rate-limit-store.ts): Redis when REDIS_URL is set (calls of one
 *   event-loop turn batched into one script call, each call all-or-nothing
 *   across its counters), memory otherwise.
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

/** Applies to root fields that declare no limit of their own. */
export const DEFAULT_ROOT_RULE: RateLimitRule = { limit: 300, duration: 60 };

/** Whether an SDL links the rate-limit spec (and so needs the definition appended). */
export function linksRateLimit(sdl: string): boolean {
  return sdl.includes(RATE_LIMIT_SPEC_URL);
}

export function rateLimitedError(retryAfterSeconds: number, message?: string): GraphQLError {
  return new GraphQLError(message ?? `Too many requests: try again in ${retryAfterSeconds} s`, {
    extensions: { code: RATE_LIMITED, retryAfter: retryAfterSeconds },
  });
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
    /** The counters this process uses (for limits a subgraph keeps itself, e.g. failed sign-ins). */
    store?: RateLimitStore | undefined;
    /** Present only on requests from the gateway (verified by the shared secret). */
    budget?: RateBudget | undefined;
  };
}

interface DirectiveArgs {
  limit: number;
  duration: number;
  by?: string | null;
  alsoPer?: string | null;
  alsoPerLimit?: number | null;
  message?: string | null;
}

function ruleFrom(args: DirectiveArgs): RateLimitRule {
  return {
    limit: args.limit,
    duration: args.duration,
    by: checkBy(args.by ?? undefined),
    alsoPer: args.alsoPer ?? undefined,
    alsoPerLimit: args.alsoPerLimit ?? undefined,
    message: args.message ?? undefined,
  };
}

function checkBy(by: string | undefined): RateLimitRule['by'] {
  if (by === undefined || by === 'caller' || by === 'address') return by;
  throw new Error(`@rateLimit(by:) must be "caller" or "address"; received ${JSON.stringify(by)}`);
}

/**
 * Applies `@rateLimit` (and the default on unlabelled root fields) to a built
 * subgraph schema with graphql-rate-limit-directive. A field the gateway already
 * decided on is answered from the budget; otherwise its counters are consumed here.
 */
/** Subscription contexts whose root fields were charged already (by response key). */
const chargedSubscriptions = new WeakMap<object, Set<string>>();

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
      // A subscription's root field resolves once per event, all in the subscription's one context: one subscription
      // is one call (as the gateway counts it at subscribe), charged at its first event, never per event.
      if (info.operation.operation === 'subscription' && info.path.prev === undefined) {
        const seen = chargedSubscriptions.get(ctx) ?? new Set<string>();
        chargedSubscriptions.set(ctx, seen);
        if (seen.has(key)) return 0;
        seen.add(key);
      }
      return 1;
    },
    // The library hands the key string to the limiter: the counters travel in it as JSON.
    keyGenerator: (directiveArgs, _source, args, ctx, info) =>
      JSON.stringify(rateLimitCounters(coordinateOf(info), ruleFrom(directiveArgs as never), ctx.rateLimit?.identity ?? { ip: 'unknown' }, args)),
    limiterClass: StoreLimiter as never,
    limiterOptions: { store } as never,
    onLimit: (response, directiveArgs) => {
      throw rateLimitedError(Math.max(1, Math.ceil(response.msBeforeNext / 1000)), ruleFrom(directiveArgs as never).message);
    },
  });
  return rateLimitDirectiveTransformer(schema);
}

/** The library calls `consume(key, points)`; the key is the call's counters, consumed together. */
class StoreLimiter {
  private readonly store: RateLimitStore;
  constructor(options: { store: RateLimitStore }) {
    this.store = options.store;
  }
  async consume(key: string, points: number) {
    const result = await this.store.consume(JSON.parse(key) as Counter[], points);
    const res = { msBeforeNext: result.retryAfter * 1000, remainingPoints: 0, consumedPoints: 0, isFirstInDuration: false };
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
    const name = arg.name.value;
    if ((name === 'limit' || name === 'duration' || name === 'alsoPerLimit') && v.kind === Kind.INT) rule[name] = Number(v.value);
    if ((name === 'alsoPer' || name === 'message') && v.kind === Kind.STRING) rule[name] = v.value;
    if (name === 'by' && v.kind === Kind.STRING) rule.by = checkBy(v.value);
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

import type { GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { rateLimitDirective, type RateLimitArgs } from 'graphql-rate-limit-directive';
import { isServiceSubject } from '../auth/index.js';
import { rateLimitedError, type RateBudget } from './budget.js';
import { rateLimitCounters, type RateLimitIdentity, type RateLimitRule } from './keys.js';
import { checkBy } from './rules.js';
import type { Counter, RateLimitStore } from './store.js';

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

/** The directive's arguments as the library hands them over: its own two, and ours when written. */
interface DirectiveArgs extends RateLimitArgs {
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

/** Subscription contexts whose root fields were charged already (by response key). */
const chargedSubscriptions = new WeakMap<object, Set<string>>();

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
        if (retryAfter > 0) throw rateLimitedError(retryAfter, ruleFrom(directiveArgs).message);
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
      JSON.stringify(rateLimitCounters(coordinateOf(info), ruleFrom(directiveArgs), ctx.rateLimit?.identity ?? { ip: 'unknown' }, args)),
    // The library types its limiter as rate-limiter-flexible's RateLimiterAbstract, which that package does not
    // export at run time (so nothing can extend it); the library only ever calls `new (options)` and `consume`.
    limiterClass: StoreLimiter as never,
    limiterOptions: { store } as never,
    onLimit: (response, directiveArgs) => {
      throw rateLimitedError(Math.max(1, Math.ceil(response.msBeforeNext / 1000)), ruleFrom(directiveArgs).message);
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

/**
 * Rate limits declared in SDL with `@rateLimit`, enforced by the gateway before
 * fan-out and by every subgraph, on counters shared through Redis.
 *
 * - One definition (rate-limit.graphql here), linked by each subgraph from
 *   RATE_LIMIT_SPEC_URL and kept in the supergraph with `@composeDirective`
 *   (rules.ts reads it and the rules written with it).
 * - Keys (keys.ts): field coordinate + user id, or client address
 *   (an IPv6 /64) when anonymous or with `by: "address"`; `alsoPer` adds a
 *   counter per (caller, argument value), the value hashed.
 * - Store (store.ts): Redis when REDIS_URL is set (calls of one
 *   event-loop turn batched into one script call, each call all-or-nothing
 *   across its counters), memory otherwise.
 *   Policy when Redis fails: each process falls back to an in-memory insurance
 *   limiter with the same limit (so N replicas may together allow up to N× the
 *   limit while Redis is down) and returns to Redis by itself when it is back.
 * - Through the gateway (gateway.ts), counters are consumed once, at the gateway:
 *   it sends the subgraph a per-field budget (budget.ts; trusted only with the
 *   gateway secret) and the subgraph (subgraph.ts) enforces that without touching
 *   Redis. Called directly, a subgraph consumes the counters itself.
 * - Config (config.ts): RATE_LIMITS, BENCHMARK_RATE_LIMITS_OFF.
 */
import { parse } from 'graphql';
import type { SubgraphFeature } from '../feature.js';
import { RATE_LIMIT_SPEC_URL, rateLimitDirectiveSDL } from './rules.js';

export * from './budget.js';
export * from './config.js';
export * from './gateway.js';
export * from './keys.js';
export * from './rules.js';
export * from './store.js';
export * from './subgraph.js';

/** The feature a subgraph opts into by linking RATE_LIMIT_SPEC_URL: the `@rateLimit` definition. */
export const rateLimit: SubgraphFeature = {
  name: 'rate-limit',
  specUrl: RATE_LIMIT_SPEC_URL,
  sdl: parse(rateLimitDirectiveSDL),
};

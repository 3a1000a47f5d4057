import { Counter, Gauge, type Registry } from 'prom-client';
import type { DatabaseStats } from './db.js';

/**
 * The gauges and counters ServiceMetrics' `watch*` methods register: each reads
 * its figures from the watched object at scrape time (`collect`), so nothing is
 * counted twice and the hot paths pay nothing.
 */

/** What watchBreaker reads, at each scrape. */
export interface WatchedBreaker {
  readonly name: string;
  readonly state: 'closed' | 'half-open' | 'open';
  readonly stats: { readonly rejectedOpen: number };
}
const BREAKER_STATES = { closed: 0, 'half-open': 1, open: 2 } as const;

/** Circuit breaker state and fast failures, for the breakers in `breakers` at each scrape. */
export function watchBreakers(registry: Registry, breakers: ReadonlyMap<string, WatchedBreaker>): void {
  // Declared in every service so dashboards can query it; samples only where breakers are watched.
  new Gauge({
    name: 'suoke_circuit_breaker_state',
    help: 'Circuit breaker state by breaker: 0 closed, 1 half-open (one probe let through), 2 open (failing fast)',
    labelNames: ['breaker'],
    registers: [registry],
    // A gateway running several workers (one breaker each) reports the worst state, not a sum.
    aggregator: 'max',
    collect() {
      for (const [name, breaker] of breakers) this.set({ breaker: name }, BREAKER_STATES[breaker.state]);
    },
  });
  new Counter({
    name: 'suoke_circuit_breaker_rejections_total',
    help: 'Calls refused at once because their circuit breaker was open, by breaker',
    labelNames: ['breaker'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, breaker] of breakers) this.inc({ breaker: name }, breaker.stats.rejectedOpen);
    },
  });
}

/** Pool use: statements in flight against the connections the pool may open. */
export function watchDatabase(registry: Registry, stats: DatabaseStats): void {
  const registers = [registry];
  new Gauge({
    name: 'suoke_db_pool_max_connections',
    help: 'Connections the database pool may open (1 for embedded PGlite)',
    registers,
    collect() {
      this.set(stats.poolMax);
    },
  });
  new Gauge({
    name: 'suoke_db_statements_in_flight',
    help: 'SQL statements sent and not yet answered; above the pool size they queue for a connection',
    registers,
    collect() {
      this.set(stats.inFlight);
    },
  });
  new Counter({
    name: 'suoke_db_statements_total',
    help: 'SQL statements sent',
    registers,
    collect() {
      this.reset();
      this.inc(stats.statements);
    },
  });
}

/** The HTTP front's refusals that happen before any request: connections over the per-address cap. */
export function watchHttp(registry: Registry, stats: { refusedConnections: number }): void {
  new Counter({
    name: 'suoke_http_connections_refused_total',
    help: 'Connections closed on arrival because their client address already had HTTP_MAX_CONNECTIONS_PER_ADDRESS open',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.refusedConnections);
    },
  });
}

/** Subscriptions this subgraph process serves now over /graphql/stream (either graphql-sse mode). */
export function watchStreams(registry: Registry, open: () => number): void {
  new Gauge({
    name: 'suoke_subgraph_subscriptions_open',
    help: 'Subscriptions open on this subgraph process (operations, not connections: a gateway multiplexes many on one event stream)',
    registers: [registry],
    collect() {
      this.set(open());
    },
  });
}

/**
 * `suoke_rate_limit_insurance_mode`: whether this process's rate limits run on the in-memory insurance
 * limiter because Redis failed (RateLimitStore.insuranceMode; 0 without Redis).
 */
export function watchRateLimitInsurance(registry: Registry, store: { readonly insuranceMode: boolean }): void {
  new Gauge({
    name: 'suoke_rate_limit_insurance_mode',
    help: 'Whether rate limits run on the per-process insurance limiter because Redis failed: 1 yes (limits are per process, not shared), 0 no (Redis counts them, or no Redis is configured)',
    registers: [registry],
    // Several workers of one gateway: one of them on the insurance limiter is enough to say so.
    aggregator: 'max',
    collect() {
      this.set(store.insuranceMode ? 1 : 0);
    },
  });
}

/**
 * `suoke_redis_up`: whether this process's Redis clients are all ready. Call it only with REDIS_URL set:
 * without Redis the gauge is absent, not 0.
 */
export function watchRedis(registry: Registry, clients: readonly { readonly status: string }[]): void {
  const unique = [...new Set(clients)];
  new Gauge({
    name: 'suoke_redis_up',
    help: 'Whether this process\'s Redis connections are ready: 1 all ready, 0 at least one is configured and not connected (commands fail fast; rate limits fall back to the insurance limiter)',
    registers: [registry],
    // Several workers of one gateway: the worst one.
    aggregator: 'min',
    collect() {
      this.set(unique.every((client) => client.status === 'ready') ? 1 : 0);
    },
  });
}

/** Requests refused by @rateLimit in this process (read from the store's own counters). */
export function watchRateLimits(registry: Registry, stats: { rejected: number }): void {
  new Counter({
    name: 'suoke_rate_limit_rejections_total',
    help: 'Field calls refused by @rateLimit where the counters were consumed (the gateway, or a subgraph called directly)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.rejected);
    },
  });
}

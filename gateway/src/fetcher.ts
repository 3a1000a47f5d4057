import type { Fetcher, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { Breaker, BreakerOpenError, type Logger } from '@suoke/platform';
import { Pool } from 'undici';
import { Balancer, parseInstanceUrls, type Instance, type InstanceOutcome } from './balancer.js';
import type { FetchEvents, SubgraphClientSettings } from './client-settings.js';
import { BufferedResponse, Deadline, send, type SendError } from './exchange.js';
import { classify, SubgraphFetchError } from './fetch-failure.js';

export { clientSettingsFromConfig, type FetchEvents, type SubgraphClientSettings } from './client-settings.js';
export { SubgraphFetchError, type FailureReason } from './fetch-failure.js';

/**
 * Set by the data source on fetches that may be sent twice (the subgraph
 * operation is a query); the fetcher removes it before anything is sent.
 */
export const RETRY_SAFE_HEADER = 'x-suoke-retry-safe';

/** Headers that differ between identical fetches without changing the answer: left out of the deduplication key. */
const PER_REQUEST_HEADERS = new Set(['x-request-id', 'traceparent', 'tracestate', 'baggage']);

/**
 * How the gateway reaches one subgraph: an undici Pool of keep-alive
 * connections per instance, P2C over the instances (balancer.ts), a circuit
 * breaker per subgraph (the platform's Breaker), a bound on fetches in flight and a time budget per
 * fetch, after which the request is aborted (not merely abandoned).
 *
 * Retry: a fetch marked retry-safe (a query) that could not reach its instance,
 * or whose connection closed before any response byte (the server had closed
 * an idle keep-alive connection, or was stopping), is sent once more — to
 * another instance, or to the same one over a new connection when it is the
 * only one and was reached. As Go's net/http does for idempotent requests.
 * Never a mutation, never after a timeout or any response.
 */
export class SubgraphClient {
  readonly balancer: Balancer;
  readonly breaker: Breaker;
  inFlight = 0;
  readonly fetcher: Fetcher = (_url, init) => this.fetch(init);
  /** Query fetches in flight by deduplication key (method, body and every header that can change the answer). */
  private readonly shared = new Map<string, Promise<FetcherResponse>>();
  /** Each instance's connection pool and request path. */
  private readonly targets = new Map<Instance, { pool: Pool; path: string }>();
  private readonly readiness: NodeJS.Timeout | undefined;
  private readonly probeTimeoutMs: number;

  constructor(
    readonly name: string,
    readonly urls: readonly string[],
    readonly settings: SubgraphClientSettings,
    log: Logger,
    private readonly events?: FetchEvents,
  ) {
    this.probeTimeoutMs = Math.min(2_000, settings.timeoutMs);
    this.balancer = new Balancer({
      urls,
      ejectBaseMs: settings.ejectBaseMs,
      ejectMaxMs: settings.ejectMaxMs,
      probe: (instance) => this.ready(instance),
      onChange: (instance, change) => {
        if (change.admitted) log.info({ subgraph: name, instance: instance.origin, reason: change.reason }, 'subgraph instance readmitted');
        else log.warn({ subgraph: name, instance: instance.origin, reason: change.reason, forMs: change.forMs }, 'subgraph instance ejected');
      },
    });
    for (const instance of this.balancer.instances) {
      const { pathname, search } = new URL(instance.url);
      this.targets.set(instance, {
        path: pathname + search,
        pool: new Pool(instance.origin, {
          connections: settings.connections,
          pipelining: 1,
          // Refused or silent instances are given up on quickly: the retry needs budget left.
          connectTimeout: Math.max(1, Math.min(1_000, Math.floor(settings.timeoutMs / 2))),
          // Backstops only: the budget aborts first.
          headersTimeout: settings.timeoutMs + 1_000,
          bodyTimeout: settings.timeoutMs + 1_000,
          keepAliveTimeout: 30_000,
        }),
      });
    }
    // Per subgraph, not per instance: a sick instance is the balancer's business (it ejects it and the retry goes
    // elsewhere); the breaker answers for the subgraph as a whole. It counts 5xx, timeouts and unreachable instances.
    this.breaker = new Breaker(`subgraph:${name}`, settings.breaker, log, (error) => !(error instanceof SubgraphFetchError) || error.countsAgainstSubgraph);
    if (urls.length > 1 && settings.readinessIntervalMs > 0) {
      this.readiness = setInterval(() => void this.balancer.checkReadiness(), settings.readinessIntervalMs);
      this.readiness.unref();
    }
  }

  /**
   * The `fetcher` of RemoteGraphQLDataSource: the URL it passes is ignored, the
   * balancer picks.
   *
   * In-flight deduplication: a query fetch identical to one already under way —
   * same body (document and variables) and same headers, so the same caller's
   * token, rate budget and client address; only the request id and trace
   * headers may differ — sends nothing and gets its own copy of that fetch's
   * answer or failure. Mutations are never shared. The shared exchange is the
   * first request's: the subgraph logs and audits it under that request id.
   */
  async fetch(init: FetcherRequestInit = {}): Promise<FetcherResponse> {
    const { [RETRY_SAFE_HEADER]: retrySafe, ...headers } = init.headers ?? {};
    if (!this.settings.deduplicate || retrySafe !== '1' || typeof init.body !== 'string') return this.fetchOnce(init, headers, retrySafe === '1');
    const key = deduplicationKey(init.method ?? 'POST', init.body, headers);
    const pending = this.shared.get(key);
    if (pending) {
      this.events?.deduplicated?.(this.name);
      try {
        return (await pending).clone();
      } catch (error) {
        if (error instanceof SubgraphFetchError) this.events?.failure(this.name, error.reason);
        throw error;
      }
    }
    const leader = this.fetchOnce(init, headers, true);
    this.shared.set(key, leader);
    try {
      return await leader;
    } finally {
      this.shared.delete(key);
    }
  }

  private async fetchOnce(init: FetcherRequestInit, headers: Record<string, string>, retrySafe: boolean): Promise<FetcherResponse> {
    try {
      if (this.inFlight >= this.settings.maxInFlight) {
        throw new SubgraphFetchError(this.name, 'overloaded', `${this.inFlight} fetches in flight (limit ${this.settings.maxInFlight}); not sent`);
      }
      this.inFlight += 1;
      try {
        return await this.breaker.fire(() => this.exchange(init.method ?? 'POST', headers, init.body, retrySafe));
      } finally {
        this.inFlight -= 1;
      }
    } catch (error) {
      const failure =
        error instanceof BreakerOpenError
          ? new SubgraphFetchError(this.name, 'circuit_open', 'circuit breaker open; not sent')
          : error instanceof SubgraphFetchError
            ? error
            : new SubgraphFetchError(this.name, 'connection_lost', 'unexpected fetch failure', { cause: error });
      this.events?.failure(this.name, failure.reason);
      throw failure;
    }
  }

  /** Readiness of one instance: GET /health/ready on its origin answers 200. */
  async ready(instance: Instance): Promise<boolean> {
    const deadline = new Deadline(this.probeTimeoutMs);
    try {
      const response = await send(this.targets.get(instance)!.pool, { path: '/health/ready', method: 'GET', headers: {} }, deadline);
      return response.status === 200;
    } catch {
      return false;
    } finally {
      deadline.clear();
    }
  }

  async close(): Promise<void> {
    if (this.readiness) clearInterval(this.readiness);
    this.balancer.close();
    this.breaker.shutdown();
    await Promise.all([...this.targets.values()].map(({ pool }) => pool.destroy().catch(() => undefined)));
  }

  private async exchange(method: string, headers: Record<string, string>, body: FetcherRequestInit['body'], retrySafe: boolean): Promise<FetcherResponse> {
    const deadline = new Deadline(this.settings.timeoutMs);
    try {
      const first = this.balancer.pick()!;
      try {
        return await this.attempt(first, method, headers, body, deadline);
      } catch (error) {
        const retry = retrySafe && !deadline.expired ? this.retryTarget(error, first) : undefined;
        if (!retry) throw error;
        this.events?.retry(this.name, (error as SubgraphFetchError).reason);
        return await this.attempt(retry, method, headers, body, deadline);
      }
    } finally {
      deadline.clear();
    }
  }

  private retryTarget(error: unknown, failed: Instance): Instance | undefined {
    if (!(error instanceof SubgraphFetchError)) return undefined;
    if (error.reason === 'unreachable') return this.balancer.pick(failed);
    // The instance was reached, so a new connection to it may well work when it is the only one.
    if (error.reason === 'connection_lost' && !error.detail.responded) return this.balancer.pick(failed) ?? this.balancer.pick();
    return undefined;
  }

  private async attempt(
    instance: Instance,
    method: string,
    headers: Record<string, string>,
    body: FetcherRequestInit['body'],
    deadline: Deadline,
  ): Promise<FetcherResponse> {
    let outcome: InstanceOutcome = 'failed';
    try {
      const { pool, path } = this.targets.get(instance)!;
      const response = await send(pool, { path, method, headers, body }, deadline);
      if (response.status >= 500) {
        throw new SubgraphFetchError(this.name, 'http_5xx', `${instance.origin} answered ${response.status}`, { instance: instance.origin, status: response.status, sent: true });
      }
      outcome = 'ok';
      return new BufferedResponse(instance.url, response.status, response.statusText, response.headers, response.body);
    } catch (error) {
      if (error instanceof SubgraphFetchError) throw error;
      const failure = classify(this.name, instance, error as SendError, deadline);
      if (failure.reason === 'unreachable') outcome = 'unreachable';
      throw failure;
    } finally {
      this.balancer.release(instance, outcome);
    }
  }
}

function deduplicationKey(method: string, body: string, headers: Record<string, string>): string {
  const names = Object.keys(headers)
    .filter((name) => !PER_REQUEST_HEADERS.has(name.toLowerCase()))
    .sort();
  let key = `${method}\n${body}`;
  for (const name of names) key += `\n${name.toLowerCase()}:${headers[name]}`;
  return key;
}

/**
 * The gateway's clients, one per subgraph and routing URL. Apollo Gateway
 * builds new data sources for every supergraph it checks or loads; they share
 * these, so connection pools, ejections and breaker state survive a publish.
 */
export class SubgraphClients {
  private readonly clients = new Map<string, SubgraphClient>();

  constructor(
    private readonly settings: (subgraph: string) => SubgraphClientSettings,
    private readonly log: Logger,
    private readonly events?: FetchEvents,
    private readonly onCreate?: (client: SubgraphClient) => void,
  ) {}

  /** The client for `url` (one endpoint or a comma-separated list); throws on a malformed URL. */
  get(subgraph: string, url: string): SubgraphClient {
    const key = `${subgraph}\n${url}`;
    let client = this.clients.get(key);
    if (!client) {
      client = new SubgraphClient(subgraph, parseInstanceUrls(url, subgraph), this.settings(subgraph), this.log, this.events);
      this.clients.set(key, client);
      this.onCreate?.(client);
    }
    return client;
  }

  all(): SubgraphClient[] {
    return [...this.clients.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((client) => client.close()));
    this.clients.clear();
  }
}

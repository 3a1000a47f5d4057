import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { DatabaseStats } from './db.js';
import { isPublicCode } from './errors.js';
import * as gauges from './metrics-gauges.js';
import {
  boundedNames,
  CLIENT_OTHER_LABEL,
  CLIENT_UNKNOWN_LABEL,
  MAX_KNOWN_CLIENT_NAMES,
  MAX_KNOWN_OPERATION_NAMES,
  MAX_VERSIONS_PER_CLIENT,
  PLANNER_FETCH_NAME,
  VERSION_LABEL,
  type OperationClient,
} from './metrics-labels.js';
import type { WatchedBreaker } from './metrics-gauges.js';
import { operationOutcome, type ClassifiedError } from './operation-outcome.js';

export type { WatchedBreaker } from './metrics-gauges.js';
export { CLIENT_OTHER_LABEL, CLIENT_UNKNOWN_LABEL, type OperationClient } from './metrics-labels.js';

/** Seconds; covers a cached field (ms) to a slow cross-subgraph operation. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];
/** Per-operation series carry the client with `clients` (the gateway); subgraphs never see one. */
type OperationLabel = 'operation' | 'client' | 'client_version';
/**
 * Which latency and availability SLO an operation counts against: `agent` for operations that wait on the
 * agent subgraph (a model's reply may take up to its 8 s deadline), `default` for everything else.
 */
export type SloName = 'default' | 'agent';
/** Seconds; the SLO thresholds are bucket bounds: 0.5 (default) and 10 (agent, above its 8 s reply deadline). */
const SLO_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8, 10, 30];

/**
 * One Prometheus registry per service (so several services in one test process
 * keep their figures apart), served on GET /metrics. Every series carries
 * `service`. Metric names are the contract with deploy/observability's
 * dashboard (tests/metrics.test.ts checks it).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly service: string;
  private readonly configuredOperations: ReadonlySet<string>;
  private knownOperations: ReadonlySet<string> = new Set();
  private readonly requests: Counter<OperationLabel>;
  private readonly requestErrors: Counter<OperationLabel>;
  private readonly duration: Histogram<'operation' | 'client'>;
  /** Whether the per-operation series carry `client` and `client_version`. */
  private readonly withClients: boolean;
  private readonly configuredClients: ReadonlySet<string>;
  private knownClients: ReadonlySet<string> = new Set();
  private readonly clientVersions = new Map<string, Set<string>>();
  private readonly errors: Counter<'code'>;
  private readonly httpResponses: Counter<'status'>;
  private readonly batchSize: Histogram<'loader'>;
  private readonly breakers = new Map<string, WatchedBreaker>();
  private readonly slo: SloName;
  private readonly sloOperations: Counter<'slo' | 'outcome'>;
  private readonly sloDuration: Histogram<'slo'>;

  /**
   * `operationNames`: labels allowed for operation names (METRICS_OPERATION_NAMES); any other is `(other)`.
   * `clients`: the per-operation series get `client` and `client_version` labels (the gateway), `names`
   * being the clients kept as labels (METRICS_CLIENT_NAMES); without it the series have `operation` only.
   * `slo`: the SLO this service's operations count against unless the plugin is told otherwise per operation.
   */
  constructor(service: string, options: { defaultMetrics?: boolean; operationNames?: Iterable<string>; clients?: { names?: Iterable<string> }; slo?: SloName } = {}) {
    this.service = service;
    this.slo = options.slo ?? 'default';
    this.configuredOperations = new Set(options.operationNames ?? []);
    this.withClients = options.clients !== undefined;
    this.configuredClients = new Set(options.clients?.names ?? []);
    const operationLabels: OperationLabel[] = this.withClients ? ['operation', 'client', 'client_version'] : ['operation'];
    this.registry.setDefaultLabels({ service });
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.requests = new Counter({ name: 'suoke_graphql_requests_total', help: 'GraphQL operations executed, by operation name (and client on the gateway)', labelNames: operationLabels, registers });
    this.requestErrors = new Counter({
      name: 'suoke_graphql_request_errors_total',
      help: 'GraphQL operations whose response carried at least one error, by operation name (and client on the gateway)',
      labelNames: operationLabels,
      registers,
    });
    // Client, not version: each label value costs a series per bucket, and latency is read per client.
    this.duration = new Histogram({
      name: 'suoke_graphql_request_duration_seconds',
      help: 'Time from receiving a GraphQL operation to sending its response, by operation name (and client on the gateway)',
      labelNames: this.withClients ? ['operation', 'client'] : ['operation'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.sloOperations = new Counter({
      name: 'suoke_slo_operations_total',
      help: 'GraphQL operations answered, by SLO (agent: waits on the agent subgraph; default: all others) and outcome: ok (no error), client_error (only errors the client caused, e.g. BAD_USER_INPUT, UNAUTHENTICATED, RATE_LIMITED, validation), server_error (an error that is ours, e.g. INTERNAL_SERVER_ERROR, SERVICE_UNAVAILABLE, or an HTTP 5xx)',
      labelNames: ['slo', 'outcome'],
      registers,
    });
    this.sloDuration = new Histogram({
      name: 'suoke_slo_operation_duration_seconds',
      help: 'Time from receiving a GraphQL operation to sending its response, by SLO; the SLO thresholds are buckets: 0.5 s (default) and 10 s (agent)',
      labelNames: ['slo'],
      buckets: SLO_BUCKETS,
      registers,
    });
    for (const slo of ['default', 'agent'] as const) {
      for (const outcome of ['ok', 'client_error', 'server_error'] as const) this.sloOperations.inc({ slo, outcome }, 0);
    }
    this.errors = new Counter({
      name: 'suoke_graphql_errors_total',
      help: 'GraphQL errors sent to clients (resolver errors included), by extensions.code',
      labelNames: ['code'],
      registers,
    });
    this.httpResponses = new Counter({
      name: 'suoke_http_responses_total',
      help: 'Responses to /graphql by HTTP status (401 and 413 are answered before any operation runs)',
      labelNames: ['status'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'suoke_dataloader_batch_size',
      help: 'Keys per DataLoader batch (each batch is one SQL statement), by loader',
      labelNames: ['loader'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    gauges.watchBreakers(this.registry, this.breakers);
  }

  /** Reports a circuit breaker's state and fast failures (e.g. the agent subgraph's ResilientCall). */
  watchBreaker(breaker: WatchedBreaker): void {
    this.breakers.set(breaker.name, breaker);
  }

  /** GET /metrics, in Prometheus text format. */
  readonly handler = async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' });
    res.end(body);
  };

  observeLoaderBatch = (loader: string, size: number): void => {
    this.batchSize.observe({ loader }, size);
  };

  observeHttpResponse = (status: number): void => {
    this.httpResponses.inc({ status: String(status) });
  };

  /**
   * Operation names allowed as labels besides the configured ones, replacing the previous set:
   * the gateway feeds it the trusted-documents manifest's names, at start and on each new manifest.
   */
  setKnownOperationNames(names: Iterable<string>): void {
    this.knownOperations = boundedNames(names, MAX_KNOWN_OPERATION_NAMES, 100);
  }

  /**
   * Operation names as label values. Clients choose names, so only known ones
   * (configured, or from the trusted documents) become labels: anything else is
   * `(other)`, and strangers cannot grow the series. A subgraph sees the
   * planner's `<name>__<subgraph>__<n>`, labelled `<name>` when that is known.
   */
  operationLabel(name: string | null | undefined): string {
    if (!name) return '(anonymous)';
    if (this.isKnownOperation(name)) return name;
    const base = PLANNER_FETCH_NAME.exec(name)?.[1];
    if (base && this.isKnownOperation(base)) return base;
    return '(other)';
  }

  private isKnownOperation(name: string): boolean {
    return this.configuredOperations.has(name) || this.knownOperations.has(name);
  }

  /**
   * Client names allowed as labels besides the configured ones, replacing the previous set: the
   * gateway feeds it the trusted documents manifest's owners, at start and on each new manifest.
   */
  setKnownClientNames(names: Iterable<string>): void {
    this.knownClients = boundedNames(names, MAX_KNOWN_CLIENT_NAMES, 128);
  }

  /**
   * The client as bounded label values. Anyone can send any name, so only known
   * clients (configured, or owning trusted documents) are labels; any other name
   * is `(other)`, none `(unknown)`. A known client's version is a label while it
   * is one of the first MAX_VERSIONS_PER_CLIENT versions seen and looks like a
   * version; else `(other)`. An unknown client's version repeats its client label.
   */
  clientLabels(client: OperationClient | undefined): { client: string; client_version: string } {
    const name = client?.name;
    if (!name || name === CLIENT_UNKNOWN_LABEL) return { client: CLIENT_UNKNOWN_LABEL, client_version: CLIENT_UNKNOWN_LABEL };
    if (!this.configuredClients.has(name) && !this.knownClients.has(name)) return { client: CLIENT_OTHER_LABEL, client_version: CLIENT_OTHER_LABEL };
    const version = client.version;
    if (!version || version === CLIENT_UNKNOWN_LABEL) return { client: name, client_version: CLIENT_UNKNOWN_LABEL };
    let seen = this.clientVersions.get(name);
    if (!seen) this.clientVersions.set(name, (seen = new Set()));
    if (seen.has(version)) return { client: name, client_version: version };
    if (seen.size >= MAX_VERSIONS_PER_CLIENT || !VERSION_LABEL.test(version)) return { client: name, client_version: CLIENT_OTHER_LABEL };
    seen.add(version);
    return { client: name, client_version: version };
  }

  /**
   * Apollo Server plugin: requests, errors and duration per operation (and per client, with
   * `clients` and `clientOf` reading the request's client from its context); errors per code;
   * operations and duration per SLO (`sloOf` reads the operation's SLO from its context, e.g. the
   * gateway's query plan; without it, or when it says nothing, the service's own).
   */
  plugin<TContext extends BaseContext>(
    clientOf?: (context: TContext) => OperationClient | undefined,
    sloOf?: (context: TContext) => SloName | undefined,
  ): ApolloServerPlugin<TContext> {
    return {
      requestDidStart: async () => {
        const started = performance.now();
        let failed = false;
        const seen: ClassifiedError[] = [];
        return {
          didEncounterErrors: async ({ errors }) => {
            failed = true;
            seen.push(...errors);
            for (const error of errors) {
              const code = error.extensions?.code;
              this.errors.inc({ code: isPublicCode(code) ? code : 'INTERNAL_SERVER_ERROR' });
            }
          },
          willSendResponse: async ({ operationName, request, contextValue, response }) => {
            const seconds = (performance.now() - started) / 1000;
            const slo = sloOf?.(contextValue) ?? this.slo;
            this.sloOperations.inc({ slo, outcome: operationOutcome(seen, response.http.status) });
            this.sloDuration.observe({ slo }, seconds);
            const operation = this.operationLabel(operationName ?? request.operationName);
            // Read at the end: a trusted document's owner is known only once its text is resolved.
            const labels = this.withClients ? { operation, ...this.clientLabels(clientOf?.(contextValue)) } : { operation };
            this.requests.inc(labels);
            if (failed) this.requestErrors.inc(labels);
            this.duration.observe(this.withClients ? { operation, client: (labels as { client: string }).client } : { operation }, seconds);
          },
        };
      },
    };
  }

  /** Pool use: statements in flight against the connections the pool may open. */
  watchDatabase(stats: DatabaseStats): void {
    gauges.watchDatabase(this.registry, stats);
  }

  /** The HTTP front's refusals that happen before any request: connections over the per-address cap. */
  watchHttp(stats: { refusedConnections: number }): void {
    gauges.watchHttp(this.registry, stats);
  }

  /**
   * `suoke_rate_limit_insurance_mode`: whether this process's rate limits run on the in-memory insurance
   * limiter because Redis failed (RateLimitStore.insuranceMode; 0 without Redis).
   */
  watchRateLimitInsurance(store: { readonly insuranceMode: boolean }): void {
    gauges.watchRateLimitInsurance(this.registry, store);
  }

  /**
   * `suoke_redis_up`: whether this process's Redis clients are all ready. Call it only with REDIS_URL set:
   * without Redis the gauge is absent, not 0.
   */
  watchRedis(clients: readonly { readonly status: string }[]): void {
    gauges.watchRedis(this.registry, clients);
  }

  /** Subscriptions this subgraph process serves now over /graphql/stream (either graphql-sse mode). */
  watchStreams(open: () => number): void {
    gauges.watchStreams(this.registry, open);
  }

  /** Requests refused by @rateLimit in this process (read from the store's own counters). */
  watchRateLimits(stats: { rejected: number }): void {
    gauges.watchRateLimits(this.registry, stats);
  }
}

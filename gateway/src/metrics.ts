import { Counter, Gauge, Histogram } from 'prom-client';
import type { ServiceMetrics } from '@suoke/platform';

export type FetchOutcome = 'ok' | 'graphql_errors' | 'failed';

/** The observer a data source reports each subgraph fetch to. */
export type FetchObserver = (subgraph: string, seconds: number, outcome: FetchOutcome) => void;

/**
 * Per-subgraph fetch metrics on the gateway's registry: how many fetches each
 * subgraph received, how long they took (the gateway's view: network included),
 * and how many failed — `failed` (no usable response: refused, timed out,
 * non-2xx) or `graphql_errors` (a response carrying errors).
 */
export function subgraphFetchMetrics(metrics: ServiceMetrics): FetchObserver {
  const registers = [metrics.registry];
  const fetches = new Counter({ name: 'suoke_subgraph_fetches_total', help: 'Fetches made to each subgraph for client operations (those answered by an identical fetch in flight included)', labelNames: ['subgraph'], registers });
  const errors = new Counter({
    name: 'suoke_subgraph_fetch_errors_total',
    help: 'Subgraph fetches that failed (kind=failed) or returned GraphQL errors (kind=graphql_errors)',
    labelNames: ['subgraph', 'kind'],
    registers,
  });
  const duration = new Histogram({
    name: 'suoke_subgraph_fetch_duration_seconds',
    help: 'Duration of each subgraph fetch as the gateway sees it',
    labelNames: ['subgraph'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  return (subgraph, seconds, outcome) => {
    fetches.inc({ subgraph });
    duration.observe({ subgraph }, seconds);
    if (outcome !== 'ok') errors.inc({ subgraph, kind: outcome });
  };
}

/** What the resilience gauges read at each scrape. */
export interface ClientSnapshot {
  readonly name: string;
  readonly inFlight: number;
  readonly balancer: { readonly instances: readonly { readonly ejected: boolean }[] };
}

/**
 * The fetch path's own figures: why fetches failed (`reason`: timeout,
 * unreachable, connection_lost, http_5xx, circuit_open, overloaded), how many
 * were retried on another instance, fetches in flight, and instances admitted
 * or ejected per subgraph. Breaker states are on suoke_circuit_breaker_state
 * (ServiceMetrics.watchBreaker), as `subgraph:<name>`.
 */
export function subgraphClientMetrics(metrics: ServiceMetrics, clients: () => Iterable<ClientSnapshot>) {
  const registers = [metrics.registry];
  const failures = new Counter({
    name: 'suoke_subgraph_fetch_failures_total',
    help: 'Subgraph fetches that got no usable answer, by reason (timeout, unreachable, connection_lost, http_5xx, circuit_open, overloaded)',
    labelNames: ['subgraph', 'reason'],
    registers,
  });
  const retries = new Counter({
    name: 'suoke_subgraph_fetch_retries_total',
    help: 'Query fetches sent a second time (another instance) after the first could not be delivered, by the first failure',
    labelNames: ['subgraph', 'reason'],
    registers,
  });
  const deduplicated = new Counter({
    name: 'suoke_subgraph_fetches_deduplicated_total',
    help: 'Query fetches answered by an identical fetch already in flight (same document, variables, token and budget): nothing more was sent',
    labelNames: ['subgraph'],
    registers,
  });
  new Gauge({
    name: 'suoke_subgraph_in_flight',
    help: 'Fetches to each subgraph under way',
    labelNames: ['subgraph'],
    registers,
    collect() {
      this.reset();
      for (const client of clients()) this.inc({ subgraph: client.name }, client.inFlight);
    },
  });
  new Gauge({
    name: 'suoke_subgraph_instances',
    help: 'Instances of each subgraph, admitted or ejected by the balancer',
    labelNames: ['subgraph', 'state'],
    registers,
    // Each worker of a clustered gateway balances on its own: the scrape shows the most ejected, not a sum.
    aggregator: 'max',
    collect() {
      this.reset();
      for (const client of clients()) {
        const ejected = client.balancer.instances.filter((i) => i.ejected).length;
        this.inc({ subgraph: client.name, state: 'admitted' }, client.balancer.instances.length - ejected);
        this.inc({ subgraph: client.name, state: 'ejected' }, ejected);
      }
    },
  });
  return {
    failure: (subgraph: string, reason: string) => failures.inc({ subgraph, reason }),
    retry: (subgraph: string, reason: string) => retries.inc({ subgraph, reason }),
    deduplicated: (subgraph: string) => deduplicated.inc({ subgraph }),
  };
}

/** What the live path reports (live/core.ts): one call per subscription opened, refused, event sent, and end. */
export interface SubscriptionObserver {
  opened(transport: string): void;
  /** Refused at subscribe, by code (SUBSCRIPTION_LIMIT, RATE_LIMITED, OPERATION_NOT_TRUSTED…). */
  refused(transport: string, code: string): void;
  /** An event hydrated (the rest of its plan run) and handed to the transport, after `seconds`. */
  event(transport: string, seconds: number): void;
  /** Ended, by reason: a REASONS name (expired, shutdown, upstreamLost…), `completed` or `client`. */
  closed(transport: string, reason: string): void;
}

/**
 * Subscription metrics on the gateway's registry: open subscriptions by
 * transport (ws, multipart, sse), refusals at subscribe by code, events sent,
 * subscriptions ended by reason, and how long each event's hydration (the
 * rest of the plan through the data sources) took.
 */
export function subscriptionMetrics(metrics: ServiceMetrics): SubscriptionObserver {
  const registers = [metrics.registry];
  const open = new Gauge({ name: 'suoke_subscriptions_open', help: 'Subscriptions open on the gateway, by client transport (ws, multipart, sse)', labelNames: ['transport'], registers });
  const refused = new Counter({ name: 'suoke_subscriptions_refused_total', help: 'Subscriptions refused at subscribe, by transport and error code', labelNames: ['transport', 'code'], registers });
  const events = new Counter({ name: 'suoke_subscription_events_total', help: 'Subscription events sent to clients, by transport', labelNames: ['transport'], registers });
  const ended = new Counter({
    name: 'suoke_subscriptions_ended_total',
    help: 'Subscriptions ended, by transport and reason (completed, client, expired, sessionEnded, shutdown, upstreamLost, schemaChanged, overflow, unauthenticated, forbidden, internal)',
    labelNames: ['transport', 'reason'],
    registers,
  });
  const hydration = new Histogram({
    name: 'suoke_subscription_event_hydration_duration_seconds',
    help: 'Time to complete one subscription event with the rest of its plan (fetches to other subgraphs included)',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  for (const transport of ['ws', 'multipart', 'sse']) open.set({ transport }, 0);
  return {
    opened: (transport) => open.inc({ transport }),
    refused: (transport, code) => refused.inc({ transport, code }),
    event: (transport, seconds) => {
      events.inc({ transport });
      hydration.observe(seconds);
    },
    closed: (transport, reason) => {
      open.dec({ transport });
      ended.inc({ transport, reason });
    },
  };
}

/**
 * Supergraph hot reloads (supergraph.ts): `suoke_supergraph_reloads_total{outcome}` counts changed files
 * swapped in (success) or rejected (failure: invalid, or a subgraph failed the health check), and
 * `suoke_supergraph_reload_failing` is 1 from a rejected file until the next one is accepted. Returns
 * the observer for each accepted or rejected update.
 */
export function supergraphReloadMetrics(metrics: ServiceMetrics): (outcome: { accepted: boolean }) => void {
  const registers = [metrics.registry];
  const reloads = new Counter({
    name: 'suoke_supergraph_reloads_total',
    help: 'Changed supergraph files the gateway tried to load, by outcome: success (swapped in) or failure (rejected; the previous supergraph keeps serving)',
    labelNames: ['outcome'],
    registers,
  });
  const failing = new Gauge({
    name: 'suoke_supergraph_reload_failing',
    help: 'Whether the last changed supergraph file was rejected: 1 from a failed reload until the next successful one (the gateway serves an older supergraph than the published one), else 0',
    registers,
    aggregator: 'max',
  });
  reloads.inc({ outcome: 'success' }, 0);
  reloads.inc({ outcome: 'failure' }, 0);
  failing.set(0);
  return ({ accepted }) => {
    reloads.inc({ outcome: accepted ? 'success' : 'failure' });
    failing.set(accepted ? 0 : 1);
  };
}

/**
 * The trusted documents' operation names are the metric labels strangers cannot choose (with the configured
 * ones); their owners likewise for client labels (with METRICS_CLIENT_NAMES).
 */
export function labelTrustedDocuments(
  metrics: ServiceMetrics,
  known: Iterable<string> | undefined,
  documents: { operationNames(): ReadonlySet<string>; clientNames(): ReadonlySet<string> } | undefined,
): void {
  metrics.setKnownOperationNames([...(known ?? []), ...(documents?.operationNames() ?? [])]);
  metrics.setKnownClientNames(documents?.clientNames() ?? []);
}

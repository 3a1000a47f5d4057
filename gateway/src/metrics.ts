import { Counter, Histogram } from 'prom-client';
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
  const fetches = new Counter({ name: 'suoke_subgraph_fetches_total', help: 'Fetches sent to each subgraph', labelNames: ['subgraph'], registers });
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

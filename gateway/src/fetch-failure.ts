import type { Instance } from './balancer.js';
import type { Deadline, SendError } from './exchange.js';

// How a subgraph fetch fails below GraphQL: the reasons (metrics labels and
// log fields), the error the data source turns into SERVICE_UNAVAILABLE, and
// the classification of a failed exchange.

/** Why a subgraph fetch produced no usable answer (a metrics label and a log field). */
export type FailureReason =
  /** The budget ran out (queued, connecting, waiting or reading). */
  | 'timeout'
  /** No instance could be reached: refused, connect timeout, unknown host. */
  | 'unreachable'
  /** The connection closed or reset before any response byte. */
  | 'connection_lost'
  /** The instance answered 5xx. */
  | 'http_5xx'
  /** The breaker is open: nothing was sent. */
  | 'circuit_open'
  /** `maxInFlight` fetches to this subgraph are already waiting: nothing was sent. */
  | 'overloaded';

/**
 * A fetch that failed below GraphQL. The message is for logs (it names the
 * instance); clients never see it — the data source answers with a generic one.
 */
export class SubgraphFetchError extends Error {
  constructor(
    readonly subgraph: string,
    readonly reason: FailureReason,
    message: string,
    readonly detail: { instance?: string; status?: number; code?: string; sent?: boolean; responded?: boolean; cause?: unknown } = {},
  ) {
    super(`${subgraph}: ${message}`);
    this.name = 'SubgraphFetchError';
  }

  /** Whether the breaker counts it: a sign the subgraph is sick, not that we shed load. */
  get countsAgainstSubgraph(): boolean {
    return this.reason !== 'overloaded' && this.reason !== 'circuit_open';
  }
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/** The failure of one attempt at `instance`, by what the exchange got to before it failed. */
export function classify(subgraph: string, instance: Instance, error: SendError, deadline: Deadline): SubgraphFetchError {
  const detail = { instance: instance.origin, code: error.code, sent: Boolean(error.sent), responded: Boolean(error.responded), cause: error };
  if (error.timedOut || deadline.expired) {
    return new SubgraphFetchError(subgraph, 'timeout', `${instance.origin}: no complete answer within ${deadline.ms} ms`, detail);
  }
  if (!error.sent && error.code && UNREACHABLE_CODES.has(error.code)) {
    return new SubgraphFetchError(subgraph, 'unreachable', `${instance.origin} unreachable (${error.code})`, detail);
  }
  if (!error.responded) {
    return new SubgraphFetchError(subgraph, 'connection_lost', `${instance.origin}: connection lost before any response (${error.code ?? error.message})`, detail);
  }
  // The answer broke off midway: not retried, the instance has seen the request.
  return new SubgraphFetchError(subgraph, 'connection_lost', `${instance.origin}: response cut short (${error.code ?? error.message})`, detail);
}

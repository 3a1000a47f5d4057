import type { BreakerPolicy } from '@suoke/platform';
import type { GatewayConfig } from './config.js';
import type { FailureReason } from './fetch-failure.js';

// What each subgraph client is configured with, and the events it reports.

export interface SubgraphClientSettings {
  /** Budget of one fetch, retry included: queueing, connecting, sending, waiting and reading. */
  timeoutMs: number;
  /** Fetches to this subgraph at once; beyond it a fetch fails at once (`overloaded`). */
  maxInFlight: number;
  /** Keep-alive connections per instance; further requests queue for one, within the budget. */
  connections: number;
  breaker: BreakerPolicy;
  ejectBaseMs: number;
  ejectMaxMs: number;
  /** Readiness checks of every instance of a subgraph with several; 0 turns them off. */
  readinessIntervalMs: number;
  /** Identical query fetches in flight at once share one exchange (see SubgraphClient.fetch). */
  deduplicate: boolean;
}

/** One subgraph's settings from the gateway configuration, its SUBGRAPH_<NAME>_* overrides applied. */
export function clientSettingsFromConfig(config: GatewayConfig, subgraph: string): SubgraphClientSettings {
  const own = config.SUBGRAPH_OVERRIDES?.[subgraph.toLowerCase()] ?? {};
  return {
    timeoutMs: own.timeoutMs ?? config.SUBGRAPH_TIMEOUT_MS,
    maxInFlight: own.maxInFlight ?? config.SUBGRAPH_MAX_IN_FLIGHT,
    connections: own.connections ?? config.SUBGRAPH_CONNECTIONS,
    breaker: {
      errorThresholdPercentage: config.SUBGRAPH_BREAKER_ERROR_PERCENT,
      volumeThreshold: config.SUBGRAPH_BREAKER_VOLUME,
      windowMs: 10_000,
      resetTimeoutMs: config.SUBGRAPH_BREAKER_RESET_MS,
    },
    ejectBaseMs: config.SUBGRAPH_EJECT_MS,
    ejectMaxMs: Math.max(config.SUBGRAPH_EJECT_MS, config.SUBGRAPH_EJECT_MAX_MS),
    readinessIntervalMs: config.SUBGRAPH_READINESS_INTERVAL_MS,
    deduplicate: config.SUBGRAPH_DEDUPLICATE === 'on',
  };
}

export interface FetchEvents {
  failure(subgraph: string, reason: FailureReason): void;
  retry(subgraph: string, reason: FailureReason): void;
  /** A fetch answered by an identical one already in flight: nothing more was sent. */
  deduplicated?(subgraph: string): void;
}

/**
 * Resilience around calls to a dependency: one circuit breaker type (breaker.ts)
 * used by the gateway per subgraph and by the agent per model provider, and
 * jittered backoff for retries (retry.ts).
 */
export { Breaker, BreakerOpenError, type BreakerPolicy } from './breaker.js';
export { backoffDelay } from './retry.js';

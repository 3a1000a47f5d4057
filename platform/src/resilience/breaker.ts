import CircuitBreaker from 'opossum';
import type { Logger } from '../logger.js';
import type { WatchedBreaker } from '../metrics.js';

export interface BreakerPolicy {
  /** Failure percentage within the window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Calls needed within the window before the breaker may open. */
  volumeThreshold: number;
  /** Length of the rolling window. */
  windowMs: number;
  /** How long the breaker stays open before it lets one probe call through (half-open). */
  resetTimeoutMs: number;
}

/** Thrown by `Breaker.fire` while the breaker is open: the call was not made. */
export class BreakerOpenError extends Error {
  constructor(readonly breaker: string) {
    super(`circuit breaker ${breaker} is open: failing fast`);
    this.name = 'BreakerOpenError';
  }
}

/**
 * A circuit breaker (opossum) around calls to one dependency: the gateway's per
 * subgraph, the agent's per model provider. Failures that `counts` accepts, in
 * a rolling window of 10 buckets, open it at `errorThresholdPercentage` once
 * `volumeThreshold` calls were made; open, it fails every call at once with
 * BreakerOpenError (counted in `stats.rejectedOpen`); after `resetTimeoutMs`
 * one call goes through (half-open) and its outcome closes or reopens it.
 * No timeout of its own: callers abort their requests themselves (an opossum
 * timeout would only abandon them). State and fast failures are reported by
 * ServiceMetrics.watchBreaker.
 */
export class Breaker implements WatchedBreaker {
  readonly stats = { rejectedOpen: 0 };
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;

  constructor(
    readonly name: string,
    policy: BreakerPolicy,
    log: Logger,
    counts: (error: unknown) => boolean,
  ) {
    this.breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      name,
      timeout: false,
      errorThresholdPercentage: policy.errorThresholdPercentage,
      volumeThreshold: policy.volumeThreshold,
      rollingCountTimeout: policy.windowMs,
      rollingCountBuckets: 10,
      resetTimeout: policy.resetTimeoutMs,
      errorFilter: (error: unknown) => !counts(error),
    });
    this.breaker.on('open', () => log.warn({ breaker: name, resetTimeoutMs: policy.resetTimeoutMs }, 'circuit breaker opened: failing fast'));
    this.breaker.on('halfOpen', () => log.info({ breaker: name }, 'circuit breaker half-open: letting one probe through'));
    this.breaker.on('close', () => log.info({ breaker: name }, 'circuit breaker closed'));
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  async fire<T>(call: () => Promise<T>): Promise<T> {
    try {
      return (await this.breaker.fire(call)) as T;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EOPENBREAKER') {
        this.stats.rejectedOpen += 1;
        throw new BreakerOpenError(this.name);
      }
      throw error;
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

import CircuitBreaker from 'opossum';
import type { Logger, WatchedBreaker } from '@suoke/platform';

export interface BreakerPolicy {
  /** Failure percentage within the window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Fetches needed within the window before the breaker may open. */
  volumeThreshold: number;
  /** Length of the rolling window. */
  windowMs: number;
  /** How long the breaker stays open before it lets one probe fetch through (half-open). */
  resetTimeoutMs: number;
}

/** Thrown by `fire` while the breaker is open: nothing was sent. */
export class BreakerOpenError extends Error {
  constructor(readonly breaker: string) {
    super(`circuit breaker ${breaker} is open: failing fast`);
    this.name = 'BreakerOpenError';
  }
}

/**
 * One subgraph's circuit breaker (opossum). It sees each fetch once, after the
 * balancer's retry: timeouts, unreachable instances and 5xx answers count as
 * failures (`counts` decides), a GraphQL error inside a 200 does not. Open, it
 * fails every fetch at once with BreakerOpenError; after `resetTimeoutMs` one
 * fetch goes through (half-open) and its outcome closes or reopens it.
 *
 * Per subgraph, not per instance: a sick instance is the balancer's business
 * (it ejects it and the retry goes elsewhere); the breaker answers for the
 * subgraph as a whole, when no instance can help.
 */
export class SubgraphBreaker implements WatchedBreaker {
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
      // The fetcher aborts the request itself at the subgraph's budget; opossum's timeout would only abandon it.
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

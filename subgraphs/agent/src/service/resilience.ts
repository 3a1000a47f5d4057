import CircuitBreaker from 'opossum';
import type { Logger } from '@suoke/platform';
import { BreakerOpenError, ProviderError } from '../providers/types.js';

export interface RetryPolicy {
  /** Attempts in all, the first included (1 = no retry). */
  attempts: number;
  /** Each attempt is aborted after this long. */
  timeoutMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface BreakerPolicy {
  /** Failure percentage in the window that opens the breaker. */
  errorThresholdPercentage: number;
  /** Calls needed in the window before the breaker may open. */
  volumeThreshold: number;
  /** Length of the rolling window. */
  windowMs: number;
  /** How long the breaker stays open before one probe call is let through. */
  resetTimeoutMs: number;
}

/**
 * "Full jitter" exponential backoff: a uniformly random delay up to
 * min(max, base × 2^(retry − 1)), so that callers who failed together do not
 * retry together. `retry` counts from 1. A Retry-After the provider sent is
 * honoured when it fits under the cap.
 */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, retryAfterSeconds?: number, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = Math.floor(random() * ceiling);
  if (retryAfterSeconds !== undefined) return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterSeconds * 1000));
  return jittered;
}

/** Transient failures are worth another attempt; a 4xx other than 408/429, a malformed answer or an open breaker are not. */
export function isTransient(error: unknown): boolean {
  return error instanceof ProviderError && error.transient;
}

export interface CallStats {
  /** Calls made to the provider (attempts, retries included). */
  attempts: number;
  retries: number;
  /** Calls refused at once because the breaker was open. */
  rejectedOpen: number;
  /** Calls given up after a transient failure because their deadline left no time for another attempt. */
  outOfTime: number;
}

export interface CallOptions {
  /**
   * When the whole call, retries and backoff included, must have settled (epoch ms, as `Date.now()`): each
   * attempt is aborted when it passes, and no retry starts that could not begin before it. Without one, the
   * call may take `attempts × timeoutMs` plus backoff.
   */
  deadline?: number | undefined;
}

/**
 * One dependency behind a timeout per attempt, retries with jittered backoff on
 * transient failures, and an opossum circuit breaker. The breaker sees every
 * attempt, so a sick provider opens it quickly; once open, calls fail at once
 * with BreakerOpenError (never retried) until `resetTimeoutMs` has passed, when
 * one probe call goes through (half-open) and its outcome closes or reopens it.
 * A call may carry a deadline, so that its caller can still answer in time
 * (the gateway gives up on a subgraph after its own timeout): attempts are cut
 * to it and no retry starts past it.
 */
export class ResilientCall {
  readonly stats: CallStats = { attempts: 0, retries: 0, rejectedOpen: 0, outOfTime: 0 };
  private readonly breaker: CircuitBreaker<[(signal: AbortSignal) => Promise<unknown>, AbortSignal], unknown>;

  constructor(
    readonly name: string,
    private readonly retry: RetryPolicy,
    breaker: BreakerPolicy,
    log: Logger,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    private readonly now: () => number = Date.now,
  ) {
    this.breaker = new CircuitBreaker(
      (call: (signal: AbortSignal) => Promise<unknown>, signal: AbortSignal) => {
        this.stats.attempts += 1;
        return call(signal);
      },
      {
        name,
        // Timeouts are ours (AbortSignal.timeout), so that the request itself is aborted, not just abandoned.
        timeout: false,
        errorThresholdPercentage: breaker.errorThresholdPercentage,
        volumeThreshold: breaker.volumeThreshold,
        rollingCountTimeout: breaker.windowMs,
        rollingCountBuckets: 10,
        resetTimeout: breaker.resetTimeoutMs,
        // A request the provider rejects as malformed is not a sign that the provider is sick.
        errorFilter: (error: unknown) => error instanceof ProviderError && error.healthy,
      },
    );
    this.breaker.on('open', () => log.warn({ breaker: name, resetTimeoutMs: breaker.resetTimeoutMs }, 'circuit breaker opened: failing fast'));
    this.breaker.on('halfOpen', () => log.info({ breaker: name }, 'circuit breaker half-open: letting one probe through'));
    this.breaker.on('close', () => log.info({ breaker: name }, 'circuit breaker closed'));
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  async call<T>(fn: (signal: AbortSignal) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const deadline = options.deadline ?? Infinity;
    for (let retry = 1; ; retry += 1) {
      const left = deadline - this.now();
      if (left <= 0) throw new ProviderError(`the ${this.name} call was not made: its deadline had passed`, { transient: true });
      try {
        // An attempt cut short by the deadline counts as a failure like any timeout: a provider that hangs must open the breaker.
        return (await this.breaker.fire(fn as (signal: AbortSignal) => Promise<unknown>, AbortSignal.timeout(Math.min(this.retry.timeoutMs, left)))) as T;
      } catch (error) {
        if ((error as { code?: unknown }).code === 'EOPENBREAKER') {
          this.stats.rejectedOpen += 1;
          throw new BreakerOpenError(this.name);
        }
        if (retry >= this.retry.attempts || !isTransient(error)) throw error;
        const delay = backoffDelay(retry, this.retry, (error as ProviderError).retryAfterSeconds);
        if (this.now() + delay >= deadline) {
          this.stats.outOfTime += 1;
          throw error;
        }
        this.stats.retries += 1;
        await this.sleep(delay);
      }
    }
  }

  shutdown(): void {
    this.breaker.shutdown();
  }
}

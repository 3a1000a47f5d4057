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
  /**
   * Hedging, off when undefined: an attempt whose request has not answered after this many ms gets a second,
   * identical request raced against it (0: both start together). See `hedge`.
   */
  hedgeDelayMs?: number | undefined;
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
  /** Second requests sent by hedging (attempts are counted once however many requests they sent), by outcome. */
  hedges: Record<HedgeOutcome, number>;
}

/**
 * What became of a hedge (the second request of an attempt): `won`, its answer was used and the first request
 * was aborted; `lost`, the first answered first and the hedge was aborted; `failed`, it failed itself (5xx,
 * reset, timeout) or its attempt ended without an answer from it.
 */
export type HedgeOutcome = 'won' | 'lost' | 'failed';

/** Why a request that lost the race is aborted: the `AbortError` a fetch rejects with. */
const lostTheRace = () => new DOMException('the other request of this attempt answered first', 'AbortError');

/**
 * One attempt made with up to two identical requests. The first starts at once; if it has neither answered nor
 * failed after `delayMs` (0: at once), a second one is started. The first successful answer is the attempt's, and
 * the other request is aborted through its own AbortSignal (so that its connection is closed, not left to
 * finish). A transient failure of one leaves the other to be awaited; the attempt fails when both have failed
 * (with the failure that carries a Retry-After, else the later one), when the only request failed before the
 * hedge was due, or at once on a failure that is not transient (a 4xx, a malformed answer): the identical
 * request would fare no better. `signal` (the attempt's timeout) aborts both and prevents a hedge not yet sent.
 * `report` is told the outcome of the hedge, once, when one was sent.
 */
export function hedge<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, delayMs: number, report: (outcome: HedgeOutcome) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const requests: AbortController[] = [];
    let settled = false;
    let running = 0;
    let failure: unknown;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let hedgeOutcome: HedgeOutcome | undefined;
    const hedgeEnded = (outcome: HedgeOutcome) => {
      if (requests.length < 2 || hedgeOutcome) return;
      hedgeOutcome = outcome;
      report(outcome);
    };
    const onAbort = () => {
      clearTimeout(timer);
      for (const request of requests) request.abort(signal.reason);
    };
    const settle = (winner?: AbortController) => {
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      for (const request of requests) if (request !== winner) request.abort(lostTheRace());
    };
    const start = () => {
      const controller = new AbortController();
      const isHedge = requests.length === 1;
      requests.push(controller);
      running += 1;
      let pending: Promise<T>;
      try {
        pending = call(controller.signal);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (value) => {
          running -= 1;
          if (settled) return;
          hedgeEnded(isHedge ? 'won' : 'lost');
          settle(controller);
          resolve(value);
        },
        (error: unknown) => {
          running -= 1;
          if (settled) return;
          if (isHedge) hedgeEnded('failed');
          if (failure === undefined || retryAfterOf(error) !== undefined || retryAfterOf(failure) === undefined) failure = error;
          if (isTransient(error) && running > 0) return;
          hedgeEnded('failed');
          settle();
          reject(isTransient(error) ? failure : error);
        },
      );
    };
    signal.addEventListener('abort', onAbort, { once: true });
    start();
    if (signal.aborted) onAbort();
    else if (delayMs <= 0) start();
    else
      timer = setTimeout(() => {
        if (!settled && !signal.aborted) start();
      }, delayMs);
  });
}

const retryAfterOf = (error: unknown) => (error instanceof ProviderError ? error.retryAfterSeconds : undefined);

export interface CallOptions {
  /**
   * When the whole call, retries and backoff included, must have settled (epoch ms, as `Date.now()`): each
   * attempt is aborted when it passes, and no retry starts that could not begin before it. Without one, the
   * call may take `attempts × timeoutMs` plus backoff.
   */
  deadline?: number | undefined;
  /**
   * False: no hedge for this call even when the policy hedges. A streamed reply is not hedged: two streams would
   * both have to be read to know which is first, and the one not used still bills its tokens.
   */
  hedge?: boolean;
}

/**
 * One dependency behind a timeout per attempt, retries with jittered backoff on
 * transient failures, and an opossum circuit breaker. The breaker sees every
 * attempt, so a sick provider opens it quickly; once open, calls fail at once
 * with BreakerOpenError (never retried) until `resetTimeoutMs` has passed, when
 * one probe call goes through (half-open) and its outcome closes or reopens it.
 * A call may carry a deadline, so that its caller can still answer in time
 * (the gateway gives up on a subgraph after its own timeout): attempts are cut
 * to it and no retry starts past it. With `hedgeDelayMs` an attempt may race a
 * second request (`hedge`) within the same timeout; it is still one attempt,
 * one outcome for the breaker.
 */
export class ResilientCall {
  readonly stats: CallStats = { attempts: 0, retries: 0, rejectedOpen: 0, outOfTime: 0, hedges: { won: 0, lost: 0, failed: 0 } };
  private readonly breaker: CircuitBreaker<[(signal: AbortSignal) => Promise<unknown>, AbortSignal, boolean?], unknown>;

  constructor(
    readonly name: string,
    private readonly retry: RetryPolicy,
    breaker: BreakerPolicy,
    log: Logger,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    private readonly now: () => number = Date.now,
  ) {
    this.breaker = new CircuitBreaker(
      (call: (signal: AbortSignal) => Promise<unknown>, signal: AbortSignal, hedged = true) => {
        this.stats.attempts += 1;
        // The hedge races inside the one fired call: the breaker sees one outcome per attempt, never the loser's abort.
        const { hedgeDelayMs } = this.retry;
        if (hedgeDelayMs === undefined || !hedged) return call(signal);
        return hedge(call, signal, hedgeDelayMs, (outcome) => (this.stats.hedges[outcome] += 1));
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
        const attempt = AbortSignal.timeout(Math.min(this.retry.timeoutMs, left));
        return (await this.breaker.fire(fn as (signal: AbortSignal) => Promise<unknown>, attempt, options.hedge ?? true)) as T;
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

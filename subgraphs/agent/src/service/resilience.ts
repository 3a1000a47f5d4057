import { Breaker, BreakerOpenError as CircuitOpenError, backoffDelay, type BreakerPolicy, type Logger } from '@suoke/platform';
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

export { backoffDelay, type BreakerPolicy };

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
 * transient failures, and the platform circuit breaker (opossum). The breaker sees every
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
  private readonly breaker: Breaker;

  constructor(
    readonly name: string,
    private readonly retry: RetryPolicy,
    breaker: BreakerPolicy,
    log: Logger,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    private readonly now: () => number = Date.now,
  ) {
    // A request the provider rejects as malformed is not a sign that the provider is sick.
    this.breaker = new Breaker(name, breaker, log, (error) => !(error instanceof ProviderError && error.healthy));
  }

  /** One attempt, as the breaker sees it. The hedge races inside it: one outcome per attempt, never the loser's abort. */
  private attempt<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal, hedged: boolean): Promise<T> {
    this.stats.attempts += 1;
    const { hedgeDelayMs } = this.retry;
    if (hedgeDelayMs === undefined || !hedged) return call(signal);
    return hedge(call, signal, hedgeDelayMs, (outcome) => (this.stats.hedges[outcome] += 1));
  }

  get state(): 'closed' | 'open' | 'half-open' {
    return this.breaker.state;
  }

  async call<T>(fn: (signal: AbortSignal) => Promise<T>, options: CallOptions = {}): Promise<T> {
    const deadline = options.deadline ?? Infinity;
    for (let retry = 1; ; retry += 1) {
      const left = deadline - this.now();
      if (left <= 0) throw new ProviderError(`the ${this.name} call was not made: its deadline had passed`, { transient: true });
      try {
        // An attempt cut short by the deadline counts as a failure like any timeout: a provider that hangs must open the breaker.
        const attempt = AbortSignal.timeout(Math.min(this.retry.timeoutMs, left));
        return await this.breaker.fire(() => this.attempt(fn, attempt, options.hedge ?? true));
      } catch (error) {
        if (error instanceof CircuitOpenError) {
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

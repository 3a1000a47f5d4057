import { GraphQLError, type ExecutionResult } from 'graphql';

/** A subscription's results, which the endpoint can end with a last result of its own. */
export interface Supervised extends AsyncIterableIterator<ExecutionResult> {
  return(): Promise<IteratorResult<ExecutionResult>>;
  throw(error?: unknown): Promise<IteratorResult<ExecutionResult>>;
  /** Sends `result` as the last event (at once, even while waiting for the next one), then ends; the source is released now. */
  end(result: ExecutionResult): void;
}

export interface SuperviseOptions {
  /** Epoch ms at which the caller's token expires: the stream then ends with UNAUTHENTICATED. */
  expiresAt?: number | undefined;
  /** Checked before each event is sent: an error ends the stream with it instead. */
  stillAllowed?: (() => GraphQLError | undefined) | undefined;
  /** Called once, when the source has been released. */
  onEnd: () => void;
}

/** setTimeout's longest delay; a token living longer is checked again then. */
const MAX_DELAY_MS = 2 ** 31 - 1;

/**
 * Wraps graphql-js's subscription iterator so that it can be ended from
 * outside while it waits for an event (token expiry, shutdown), and so that
 * an error thrown by the event source (a subscriber that fell behind, Redis
 * gone) reaches the client as a last GraphQL result with its code rather than
 * as a broken stream. `return()` resolves a pending `next()` at once and
 * releases the source (its bus subscription) exactly once.
 */
export function supervise(source: AsyncIterable<ExecutionResult>, options: SuperviseOptions): Supervised {
  const iterator = source[Symbol.asyncIterator]();
  const done: IteratorReturnResult<void> = { value: undefined, done: true };
  let finished = false;
  let released = false;
  let last: ExecutionResult | undefined;
  /** Resolves the pending next(): with a last result, or undefined to end without one. */
  let wake: ((result: ExecutionResult | undefined) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  const release = async () => {
    if (released) return;
    released = true;
    if (timer) clearTimeout(timer);
    options.onEnd();
    try {
      await iterator.return?.();
    } catch {
      // The source's own cleanup failed: nothing more to release here.
    }
  };

  const end = (result: ExecutionResult) => {
    if (finished || last) return;
    last = result;
    const waiting = wake;
    wake = undefined;
    waiting?.(result);
    void release();
  };

  const armExpiry = (at: number) => {
    const delay = at - Date.now();
    if (delay <= 0) return end(expired());
    timer = setTimeout(() => armExpiry(at), Math.min(delay, MAX_DELAY_MS));
    timer.unref();
  };
  if (options.expiresAt !== undefined) armExpiry(options.expiresAt);

  const supervised: Supervised = {
    end,
    async next() {
      if (finished) {
        await release();
        return done;
      }
      if (last) {
        finished = true;
        return { value: last, done: false };
      }
      const stopped = new Promise<ExecutionResult | undefined>((resolve) => (wake = resolve));
      try {
        const outcome = await Promise.race([
          iterator.next().then((event) => ({ event })),
          stopped.then((result) => ({ result })),
        ]);
        wake = undefined;
        if ('result' in outcome) {
          finished = true;
          return outcome.result ? { value: outcome.result, done: false } : done;
        }
        if (outcome.event.done) {
          finished = true;
          await release();
          return done;
        }
        const denied = options.stillAllowed?.();
        if (denied) {
          finished = true;
          void release();
          return { value: { errors: [denied] }, done: false };
        }
        return { value: outcome.event.value, done: false };
      } catch (error) {
        wake = undefined;
        finished = true;
        void release();
        return { value: { errors: [error instanceof GraphQLError ? error : new GraphQLError('The event source failed', { originalError: error as Error })] }, done: false };
      }
    },
    async return() {
      finished = true;
      const waiting = wake;
      wake = undefined;
      waiting?.(undefined);
      await release();
      return done;
    },
    async throw() {
      return supervised.return();
    },
    [Symbol.asyncIterator]() {
      return supervised;
    },
  };
  return supervised;
}

function expired(): ExecutionResult {
  return { errors: [new GraphQLError('The access token has expired: subscribe again with a fresh token', { extensions: { code: 'UNAUTHENTICATED' } })] };
}

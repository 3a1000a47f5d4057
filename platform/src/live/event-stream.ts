import { GraphQLError } from 'graphql';

/** A subscriber fell behind by more than its buffer: its stream ended with this code (it resubscribes and reads again). */
export const SUBSCRIPTION_OVERFLOW = 'SUBSCRIPTION_OVERFLOW';

/**
 * One subscriber's events of one topic. Subscribed eagerly: events published
 * after `subscribe()` returned (and, with Redis, after `ready`) are buffered
 * until read, so nothing is lost between subscribing and the first `next()`.
 * The price of eagerness is that an iterator must be released: `return()` (or
 * `throw()`) does it and resolves a pending `next()` at once; an iterator
 * dropped without either is released when it is garbage-collected
 * (FinalizationRegistry), or at the latest when its buffer overflows.
 */
export interface EventStream<T> extends AsyncIterableIterator<T> {
  /** Resolves once the bus delivers this topic to the stream (Redis: SUBSCRIBE acknowledged); rejects when it cannot. */
  readonly ready: Promise<void>;
  return(): Promise<IteratorResult<T>>;
  throw(error?: unknown): Promise<IteratorResult<T>>;
}

/** The bus's side of a stream: where messages are pushed (serialized JSON, parsed by the reader). */
export interface Sink {
  push(message: string): void;
  /** The bus is closing: the reader's pending and later next() calls see the end. */
  end(): void;
}

interface State {
  buffer: string[];
  waiting: { resolve(result: IteratorResult<unknown>): void; reject(error: unknown): void } | undefined;
  done: boolean;
  failure: unknown;
}

/**
 * Releases dropped iterators. The registry holds `detach`, which reaches the
 * sink and the bus but never the iterator, so the iterator can be collected.
 */
const finalizer = new FinalizationRegistry<() => void>((detach) => detach());

/**
 * A bounded stream. When a slow consumer has `maxBuffered` messages unread and
 * another arrives, the stream is closed with SUBSCRIPTION_OVERFLOW (after the
 * buffered ones are read) rather than dropping events silently: a client that
 * misses a status change would show a stale report as current, while one told
 * it fell behind resubscribes and reads the current state.
 */
export function createEventStream<T>(options: { maxBuffered: number; ready: Promise<void>; detach: () => void }): { sink: Sink; stream: EventStream<T> } {
  const { state, sink, detach, finish } = createCore(options);
  const ready = options.ready;
  // A rejection here is the reader's to see (through `ready`); unobserved, it must not crash the process.
  ready.catch(() => undefined);
  const stream: EventStream<T> = {
    ready,
    next() {
      const message = state.buffer.shift();
      if (message !== undefined) return Promise.resolve({ value: JSON.parse(message) as T, done: false });
      if (state.done) {
        const failure = state.failure;
        if (failure === undefined) return Promise.resolve({ value: undefined, done: true });
        // Told once; later calls see the end.
        state.failure = undefined;
        return Promise.reject(failure);
      }
      if (state.waiting) return Promise.reject(new Error('EventStream: next() called again before the previous call resolved'));
      return new Promise<IteratorResult<T>>((resolve, reject) => {
        state.waiting = { resolve: resolve as (result: IteratorResult<unknown>) => void, reject };
      });
    },
    async return() {
      finalizer.unregister(stream);
      state.buffer.length = 0;
      finish();
      state.failure = undefined;
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      finalizer.unregister(stream);
      state.buffer.length = 0;
      finish();
      state.failure = undefined;
      throw error;
    },
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  finalizer.register(stream, detach, stream);
  return { sink, stream };
}

/**
 * The bus's half: built in a scope of its own because V8 closures created in
 * one scope share its variables, and the sink (held by the bus) or `detach`
 * (held by the finalizer) must not keep the iterator alive.
 */
function createCore(options: { maxBuffered: number; detach: () => void }) {
  const state: State = { buffer: [], waiting: undefined, done: false, failure: undefined };
  let detached = false;
  const detach = () => {
    if (detached) return;
    detached = true;
    options.detach();
  };
  const finish = (failure?: unknown) => {
    if (state.done) return;
    state.done = true;
    state.failure = failure;
    detach();
    const waiting = state.waiting;
    state.waiting = undefined;
    if (!waiting) return;
    if (failure !== undefined) waiting.reject(failure);
    else waiting.resolve({ value: undefined, done: true });
  };
  const sink: Sink = {
    push(message) {
      if (state.done) return;
      if (state.waiting) {
        const waiting = state.waiting;
        state.waiting = undefined;
        try {
          waiting.resolve({ value: JSON.parse(message), done: false });
        } catch (error) {
          waiting.reject(error);
        }
        return;
      }
      if (state.buffer.length >= options.maxBuffered) {
        // Detached now; what was buffered is still read, then the reader is told.
        state.done = true;
        state.failure = new GraphQLError(`This subscription fell more than ${options.maxBuffered} events behind and was closed: subscribe again`, {
          extensions: { code: SUBSCRIPTION_OVERFLOW },
        });
        detach();
        return;
      }
      state.buffer.push(message);
    },
    end() {
      finish();
    },
  };
  return { state, sink, detach, finish };
}

import { GraphQLError, type ExecutionResult } from 'graphql';
import type { UpstreamEnd } from './upstream.js';

/** Why the gateway ended a subscription, as the client is told (the final `next`'s error). */
export interface EndReason {
  code: string;
  message: string;
}

export const REASONS = {
  expired: { code: 'UNAUTHENTICATED', message: 'The access token expired: subscribe again with a fresh token' },
  sessionEnded: { code: 'UNAUTHENTICATED', message: 'This session has ended: sign in again' },
  upstreamLost: { code: 'SERVICE_UNAVAILABLE', message: 'The service behind this subscription went away; subscribe again' },
  shutdown: { code: 'SERVICE_UNAVAILABLE', message: 'The gateway is restarting; subscribe again' },
  overflow: { code: 'SERVICE_UNAVAILABLE', message: 'Events arrived faster than this client read them; subscribe again' },
  schemaChanged: { code: 'SERVICE_UNAVAILABLE', message: 'This subscription is no longer in the schema' },
  unauthenticated: { code: 'UNAUTHENTICATED', message: 'The service behind this subscription refused the access token' },
  forbidden: { code: 'FORBIDDEN', message: 'You are not allowed to access this data' },
  internal: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' },
} satisfies Record<string, EndReason>;

export function reasonFor(end: Exclude<UpstreamEnd, { kind: 'complete' }>): EndReason {
  if (end.kind === 'refused') return end.status === 401 ? REASONS.unauthenticated : REASONS.forbidden;
  return REASONS.upstreamLost;
}

/** The reason's name (a metric label): a REASONS key, `completed` (the subgraph completed it) or `client` (the client left). */
export function reasonName(reason: EndReason | undefined, endedBy: 'server' | 'client'): string {
  if (reason) return (Object.keys(REASONS) as (keyof typeof REASONS)[]).find((key) => REASONS[key] === reason) ?? 'other';
  return endedBy === 'client' ? 'client' : 'completed';
}

const FINAL = new WeakSet<object>();

/** The last result of a subscription the gateway ended: the reason as an error (transports that have a separate error frame use it). */
export function endResult(reason: EndReason): ExecutionResult {
  const result = { errors: [new GraphQLError(reason.message, { extensions: { code: reason.code } })] };
  FINAL.add(result);
  return result;
}

/** Whether `result` is a reason the gateway ended the subscription for, not an event. */
export function isEndResult(result: ExecutionResult): boolean {
  return FINAL.has(result);
}

type Item = { kind: 'event'; event: ExecutionResult } | { kind: 'final'; result: ExecutionResult } | { kind: 'end' };

/**
 * A subscription as every transport reads it (graphql-ws, multipart, SSE): an async iterator whose `return()`
 * takes effect at once, even while `next()` waits for an event (an async
 * generator function would queue it until the next yield, and the upstream
 * stream would outlive its client). Events are hydrated one at a time, when
 * the client is ready for the next one; at most `maxQueued` wait, past which
 * the subscription ends (a client that cannot keep up).
 */
export class LiveStream implements AsyncGenerator<ExecutionResult, void, unknown> {
  private readonly queue: Item[] = [];
  private waiter: (() => void) | undefined;
  private closed = false;
  private finishing = false;
  /** Why the gateway ended it (undefined: the subgraph completed it, or the client left). */
  endReason: EndReason | undefined;
  /** Who finished it first: the server (an end, with or without reason) or the client (return()). */
  endedBy: 'server' | 'client' = 'server';

  constructor(
    private readonly hydrate: (event: ExecutionResult) => Promise<ExecutionResult>,
    private readonly hooks: {
      /** The subscription is ending (upstream, timers and caps can go): called once. */
      onEnd(): void;
      /** The client has been given everything (or has left): called once, after onEnd. */
      onFinish(): void;
      /** Checked before each event is hydrated: a reason ends the subscription instead (an ended session). */
      guard?(): EndReason | undefined;
    },
    private readonly maxQueued = 256,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** An event from the upstream subscription. */
  push(event: ExecutionResult): void {
    if (this.finishing) return;
    if (this.queue.length >= this.maxQueued) return this.end(REASONS.overflow);
    this.queue.push({ kind: 'event', event });
    this.wake();
  }

  /** Ends the subscription after what is queued: with a final error when a reason is given, else a plain completion. */
  end(reason?: EndReason): void {
    if (this.finishing) return;
    this.finishing = true;
    this.endReason = reason;
    // A reason is news the client should not wait for behind a backlog.
    if (reason) this.queue.length = 0;
    this.queue.push(reason ? { kind: 'final', result: endResult(reason) } : { kind: 'end' });
    this.ended();
    this.wake();
  }

  async next(): Promise<IteratorResult<ExecutionResult, void>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      const item = this.queue.shift();
      if (!item) {
        await new Promise<void>((resolve) => (this.waiter = resolve));
        continue;
      }
      if (item.kind === 'end') return this.finish();
      if (item.kind === 'final') {
        this.queue.length = 0;
        this.queue.push({ kind: 'end' });
        return { done: false, value: item.result };
      }
      const refusal = this.hooks.guard?.();
      if (refusal) {
        this.end(refusal);
        continue;
      }
      let value: ExecutionResult;
      try {
        value = await this.hydrate(item.event);
      } catch {
        // An event that cannot be completed (logged by `hydrate`) ends the subscription with a reason, on every transport.
        this.end(REASONS.internal);
        continue;
      }
      if (this.closed) return { done: true, value: undefined };
      return { done: false, value };
    }
  }

  /** The client left (complete, disconnect): closes the upstream now, whatever `next()` is waiting for. */
  async return(): Promise<IteratorResult<ExecutionResult, void>> {
    if (!this.finishing) this.endedBy = 'client';
    return this.finish();
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult, void>> {
    this.finish();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): IteratorResult<ExecutionResult, void> {
    if (!this.closed) {
      this.closed = true;
      this.finishing = true;
      this.queue.length = 0;
      this.ended();
      this.hooks.onFinish();
      this.wake();
    }
    return { done: true, value: undefined };
  }

  private endedOnce = false;

  private ended(): void {
    if (this.endedOnce) return;
    this.endedOnce = true;
    this.hooks.onEnd();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

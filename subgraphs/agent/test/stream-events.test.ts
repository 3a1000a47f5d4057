import { describe, expect, it } from 'vitest';
import type { MessageRow } from '../src/db/schema.js';
import { messageEvents, type ReplyBusEvent } from '../src/service/streams.js';

// A subscriber's view of one reply (service/streams.ts `messageEvents`), without a bus or a database: what it sends
// from a snapshot of the row and the bus events that follow, whatever their overlap with the snapshot.

const row = (text: string, status: MessageRow['status'] = 'STREAMING'): MessageRow => ({
  id: '6f1c0e7a-3d2b-4a7e-9f00-000000000001',
  seq: 2,
  conversationId: '6f1c0e7a-3d2b-4a7e-9f00-000000000002',
  role: 'AGENT',
  text,
  degraded: false,
  provider: status === 'COMPLETE' ? 'OFFLINE' : null,
  citations: [],
  createdAt: new Date(),
  status,
  statusReason: null,
});

/** A bus stream whose events the test pushes; `released` once return() was called. */
function bus() {
  const queue: ReplyBusEvent[] = [];
  let waiting: ((result: IteratorResult<ReplyBusEvent>) => void) | undefined;
  const state = { released: false };
  const iterator: AsyncIterableIterator<ReplyBusEvent> = {
    next: () => {
      const event = queue.shift();
      if (event) return Promise.resolve({ value: event, done: false });
      if (state.released) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiting = resolve));
    },
    return: async () => {
      state.released = true;
      waiting?.({ value: undefined, done: true });
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  const push = (event: ReplyBusEvent) => {
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: event, done: false });
    } else queue.push(event);
  };
  return { iterator, push, state };
}

async function take(events: AsyncIterableIterator<{ delta: string; done: boolean; message: MessageRow | null }>) {
  const out: Array<[string, boolean, string | undefined]> = [];
  for (;;) {
    const result = await events.next();
    if (result.done) return out;
    out.push([result.value.delta, result.value.done, result.value.message?.status]);
  }
}

describe('messageEvents', () => {
  it('starts with the text so far, drops what it holds, fills a gap from the row, and sends the stored end', async () => {
    const { iterator, push, state } = bus();
    // The row as read at the gap (still streaming), then at the end (stored whole).
    const reads = [row('abcdefghijxyz'), row('abcdefghijxyz!', 'COMPLETE')];
    let read = 0;
    const events = messageEvents(row('abc'), iterator, async () => reads[Math.min(read++, 1)]);
    push({ at: 0, delta: 'ab' }); // already in the snapshot
    push({ at: 2, delta: 'cd' }); // overlaps it: only 'd' is new
    push({ at: 10, delta: 'xyz' }); // past what was sent (an event lost): the row fills in
    push({ at: 10, delta: 'xyz' }); // a repeat
    push({ done: true });
    const out = await take(events);
    expect(read).toBe(2);
    expect(out.map(([delta]) => delta)).toEqual(['abc', 'd', 'efghijxyz', '!', '']);
    expect(out.at(-1)).toEqual(['', true, 'COMPLETE']);
    expect(out.filter(([, done]) => done)).toHaveLength(1);
    expect(state.released).toBe(true);
  });

  it('gives a reply that has ended as one final event, releasing the bus at once', async () => {
    const { iterator, state } = bus();
    const events = messageEvents(row('done text', 'COMPLETE'), iterator, async () => row('done text', 'COMPLETE'));
    expect(state.released).toBe(true);
    expect(await take(events)).toEqual([['', true, 'COMPLETE']]);
  });

  it('ends a quiet stream whose final event was lost, by reading the row again', async () => {
    const { iterator, push, state } = bus();
    let stored = row('ab');
    const events = messageEvents(row(''), iterator, async () => stored, 30);
    push({ at: 0, delta: 'ab' });
    expect((await events.next()).value?.delta).toBe('ab');
    // No more events: the row is read while quiet (still streaming: nothing sent), then found COMPLETE.
    const next = events.next();
    await new Promise((resolve) => setTimeout(resolve, 80));
    stored = row('abc', 'COMPLETE');
    expect((await next).value).toMatchObject({ delta: 'c', done: false });
    expect((await events.next()).value).toMatchObject({ delta: '', done: true, message: { status: 'COMPLETE', text: 'abc' } });
    expect((await events.next()).done).toBe(true);
    expect(state.released).toBe(true);
  });

  it('return() ends a subscriber waiting for the next event at once and releases the bus', async () => {
    const { iterator, state } = bus();
    const events = messageEvents(row(''), iterator, async () => row(''));
    const next = events.next();
    await events.return!();
    expect(await next).toEqual({ value: undefined, done: true });
    expect(state.released).toBe(true);
  });
});

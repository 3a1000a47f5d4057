import type { MessageRow } from '../db/schema.js';
import type { ReplyBusEvent } from './streams.js';

/** The subscriber's side of a streamed reply (`messageStream`): the row read, then the bus's deltas (streams.ts writes them). */

/** An event of `messageStream`, as its resolver returns it. */
export interface MessageStreamEventValue {
  messageId: string;
  delta: string;
  done: boolean;
  message: MessageRow | null;
}

/**
 * A subscriber's events, from its bus stream (subscribed before `snapshot` was read) and the row as it was read:
 * the text so far (when any) as the first event, then each delta's part not yet sent, then the final event with the
 * stored reply, then the end. A reply that had ended gives its final event at once. A delta that starts past what was
 * sent (an event lost by the bus) is filled from the row, and a quiet stream reads the row every `quietCheckMs` in
 * case its end was lost. `return()` releases the bus stream at once.
 */
export function messageEvents(
  snapshot: MessageRow,
  bus: AsyncIterableIterator<ReplyBusEvent>,
  read: () => Promise<MessageRow | undefined>,
  /** After this long without an event the row is read again: a final event lost by the bus (at most once) or a reply
   * ended by the sweep of a dead replica still ends the stream. */
  quietCheckMs = 5_000,
): AsyncIterableIterator<MessageStreamEventValue> {
  const messageId = snapshot.id;
  // The bus stream's next() in flight, kept across quiet checks (it may be called again only once it settled).
  let pending: Promise<IteratorResult<ReplyBusEvent>> | undefined;
  const nextOrQuiet = async (): Promise<IteratorResult<ReplyBusEvent> | 'quiet'> => {
    pending ??= bus.next();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quiet = new Promise<'quiet'>((resolve) => (timer = setTimeout(() => resolve('quiet'), quietCheckMs)));
    try {
      const result = await Promise.race([pending, quiet]);
      if (result !== 'quiet') pending = undefined;
      return result;
    } finally {
      clearTimeout(timer);
    }
  };
  let sent = snapshot.text.length;
  const queue: MessageStreamEventValue[] = [];
  let ended = false;
  const final = (message: MessageRow): MessageStreamEventValue => ({ messageId, delta: '', done: true, message });
  const release = () => void bus.return?.().catch(() => undefined);
  if (snapshot.status !== 'STREAMING') {
    queue.push(final(snapshot));
    release();
  } else if (snapshot.text !== '') {
    queue.push({ messageId, delta: snapshot.text, done: false, message: null });
  }
  const finish = async (): Promise<MessageStreamEventValue> => {
    ended = true;
    release();
    const row = (await read()) ?? snapshot;
    if (row.text.length > sent && row.text.startsWith(snapshot.text)) {
      // Text stored but never delivered to this subscriber comes before the final event.
      const rest = row.text.slice(sent);
      sent = row.text.length;
      queue.push(final(row));
      return { messageId, delta: rest, done: false, message: null };
    }
    return final(row);
  };
  const iterator: AsyncIterableIterator<MessageStreamEventValue> = {
    async next() {
      const queued = queue.shift();
      if (queued) {
        if (queued.done) ended = true;
        return { value: queued, done: false };
      }
      while (!ended) {
        const result = await nextOrQuiet();
        if (ended) break;
        if (result === 'quiet') {
          const row = await read();
          if (row && row.status !== 'STREAMING') return { value: await finish(), done: false };
          continue;
        }
        if (result.done) return { value: await finish(), done: false };
        const event = result.value;
        if (event.done) return { value: await finish(), done: false };
        const end = event.at + event.delta.length;
        if (end <= sent) continue;
        if (event.at > sent) {
          const row = await read();
          if (!row) continue;
          if (row.status !== 'STREAMING') return { value: await finish(), done: false };
          if (row.text.length <= sent) continue;
          const delta = row.text.slice(sent);
          sent = row.text.length;
          return { value: { messageId, delta, done: false, message: null }, done: false };
        }
        const delta = event.delta.slice(sent - event.at);
        sent = end;
        return { value: { messageId, delta, done: false, message: null }, done: false };
      }
      return { value: undefined, done: true };
    },
    async return() {
      ended = true;
      queue.length = 0;
      release();
      return { value: undefined, done: true };
    },
    async throw(error?: unknown) {
      ended = true;
      release();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

// The subscribers of `npm run bench -- live`, in a process of their own (forked by
// live.mjs, driven over IPC) so that their CPU is never counted as a gateway's.
// One graphql-ws client (one WebSocket) per subscriber, as each app holds its own.
// An event's title carries its publish time (epoch ms, from performance.timeOrigin +
// performance.now(), which both processes read from the same clock) and its body
// its sequence number, so latency and losses are counted here.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const now = () => performance.timeOrigin + performance.now();
/** Every subscriber opened: its client, events received, how it ended. */
let subscribers = [];
let latencies = [];
let received = 0;
const endings = {};
/** The first message of each error code met. */
const messages = {};

function openOne({ url, token, query }) {
  return new Promise((resolve) => {
    const subscriber = { received: 0, ended: false };
    let settled = false;
    const settle = (ok, why) => {
      if (settled) return;
      settled = true;
      resolve({ ok, why });
    };
    subscriber.client = createClient({
      url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      keepAlive: 0,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      on: {
        connected: () => settle(true),
        closed: (event) => settle(false, `closed ${event?.code} ${event?.reason}`),
        error: (error) => settle(false, String(error?.message ?? error)),
      },
    });
    subscriber.client.subscribe(
      { query },
      {
        next: (result) => {
          if (subscriber.disposed) return;
          const event = result.data?.notificationAdded;
          if (!event) {
            const code = result.errors?.[0]?.extensions?.code ?? 'no data';
            endings[code] = (endings[code] ?? 0) + 1;
            messages[code] ??= result.errors?.[0]?.message;
            return;
          }
          received += 1;
          subscriber.received += 1;
          const sentAt = Number(event.title);
          if (Number.isFinite(sentAt)) latencies.push(now() - sentAt);
        },
        error: (error) => {
          if (subscriber.disposed) return;
          subscriber.ended = true;
          const code = Array.isArray(error) ? (error[0]?.extensions?.code ?? 'error') : `error ${error?.code ?? ''}`.trim();
          endings[code] = (endings[code] ?? 0) + 1;
        },
        complete: () => {
          if (subscriber.disposed) return;
          subscriber.ended = true;
          endings.complete = (endings.complete ?? 0) + 1;
        },
      },
    );
    subscribers.push(subscriber);
  });
}

async function open({ url, tokens, query, concurrency = 100 }) {
  let next = 0;
  const failures = [];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, tokens.length) }, async () => {
      while (next < tokens.length) {
        const token = tokens[next++];
        const outcome = await openOne({ url, token, query });
        if (!outcome.ok && failures.length < 5) failures.push(outcome.why);
        else if (!outcome.ok) failures.push('');
      }
    }),
  );
  return { opened: tokens.length - failures.length, failures: failures.length, firstFailures: failures.filter(Boolean).slice(0, 5) };
}

const handlers = {
  open,
  /** What arrived since the last reset; `perSubscriber` counts events of each subscriber (index order). */
  stats: ({ perSubscriber = false }) => ({
    received,
    latencies,
    endings,
    messages,
    ended: subscribers.filter((s) => s.ended).length,
    ...(perSubscriber ? { perSubscriber: subscribers.map((s) => s.received) } : {}),
  }),
  reset: () => {
    latencies = [];
    received = 0;
    for (const s of subscribers) s.received = 0;
    for (const key of Object.keys(endings)) delete endings[key];
    return {};
  },
  close: async () => {
    const all = subscribers;
    subscribers = [];
    // What the closed ones report while closing is not counted.
    for (const s of all) s.disposed = true;
    await Promise.all(all.map((s) => s.client.dispose()));
    for (const key of Object.keys(endings)) delete endings[key];
    return { closed: all.length };
  },
};

process.on('message', async (message) => {
  try {
    const reply = await handlers[message.cmd](message);
    process.send({ id: message.id, ok: true, ...reply });
  } catch (error) {
    process.send({ id: message.id, ok: false, error: String(error?.stack ?? error) });
  }
});
process.on('disconnect', () => process.exit(0));

import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, MemoryEventBus, RedisEventBus, SUBSCRIPTION_OVERFLOW, type EventBus } from '../src/index.js';

// The event bus of the live path on both backends: eager subscription, return()
// releasing a pending next() and the topic, the bounded buffer, a dropped
// iterator released by the garbage collector, and (Redis) delivery across
// connections with the SUBSCRIBE released when the last listener leaves.

const log = createLogger({ service: 'live-bus-test', level: 'silent' });
const REDIS_URL = process.env.REDIS_URL;
const opened: Array<{ close(): Promise<void> }> = [];
const redisClients: Redis[] = [];

function redisClient(): Redis {
  const client = new Redis(REDIS_URL!, { maxRetriesPerRequest: 1 });
  redisClients.push(client);
  return client;
}

const backends: Array<[string, (maxBuffered?: number) => EventBus]> = [
  ['memory', (maxBuffered) => track(new MemoryEventBus({ log, maxBuffered }))],
  ...(REDIS_URL ? ([['redis', (maxBuffered?: number) => track(new RedisEventBus(redisClient(), { log, maxBuffered }))]] as const) : []),
];

function track<T extends { close(): Promise<void> }>(bus: T): T {
  opened.push(bus);
  return bus;
}

afterAll(async () => {
  for (const bus of opened) await bus.close();
  for (const client of redisClients) client.disconnect();
});

/** Waits (bounded by tries, not by a clock budget) until `check` holds. */
async function eventually(check: () => boolean | Promise<boolean>, tries = 100): Promise<void> {
  for (let i = 0; i < tries; i += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('condition never held');
}

describe.each(backends)('the %s event bus', (_name, makeBus) => {
  it('delivers what is published after subscribe() to a subscriber that has not called next() yet, as JSON', async () => {
    const bus = makeBus();
    const topic = `t-${randomUUID()}`;
    const stream = bus.subscribe<{ at: string; n: number }>(topic);
    await stream.ready;
    const at = new Date('2026-01-02T03:04:05.000Z');
    await bus.publish(topic, { at, n: 1 });
    await bus.publish(`other-${randomUUID()}`, { at, n: 99 });
    await bus.publish(topic, { at, n: 2 });
    expect((await stream.next()).value).toEqual({ at: at.toISOString(), n: 1 });
    expect((await stream.next()).value).toEqual({ at: at.toISOString(), n: 2 });
    await stream.return();
  });

  it('return() resolves a pending next() at once and releases the topic', async () => {
    const bus = makeBus();
    const topic = `t-${randomUUID()}`;
    const stream = bus.subscribe(topic);
    await stream.ready;
    expect(bus.listenerCount(topic)).toBe(1);
    const pending = stream.next();
    await stream.return();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(bus.listenerCount(topic)).toBe(0);
    await bus.publish(topic, { late: true });
    await expect(stream.next()).resolves.toEqual({ value: undefined, done: true });
  });

  it('closes a subscriber that falls more than its buffer behind with SUBSCRIPTION_OVERFLOW, after what it buffered', async () => {
    const bus = makeBus(3);
    const topic = `t-${randomUUID()}`;
    const slow = bus.subscribe<{ n: number }>(topic);
    const fast = bus.subscribe<{ n: number }>(topic);
    await Promise.all([slow.ready, fast.ready]);
    const received: number[] = [];
    const reading = (async () => {
      for await (const event of fast) {
        received.push(event.n);
        if (event.n === 5) break;
      }
    })();
    for (let n = 1; n <= 5; n += 1) {
      await bus.publish(topic, { n });
      // The fast reader keeps up (its buffer never fills); the slow one never reads.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await reading;
    expect(received).toEqual([1, 2, 3, 4, 5]);
    // The slow one left the topic the moment it overflowed; its three buffered events are still read.
    expect(bus.listenerCount(topic)).toBe(0);
    expect([(await slow.next()).value, (await slow.next()).value, (await slow.next()).value]).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await expect(slow.next()).rejects.toMatchObject({ extensions: { code: SUBSCRIPTION_OVERFLOW } });
    await expect(slow.next()).resolves.toMatchObject({ done: true });
  });

  it('releases a stream that was subscribed and dropped without being iterated, once it is garbage-collected', async () => {
    v8.setFlagsFromString('--expose_gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const bus = makeBus();
    const topic = `t-${randomUUID()}`;
    await (async () => {
      const stream = bus.subscribe(topic);
      await stream.ready;
    })();
    expect(bus.listenerCount(topic)).toBe(1);
    await eventually(async () => {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      return bus.listenerCount(topic) === 0;
    });
  });

  it('close() ends every stream: a pending next() resolves as done', async () => {
    const bus = makeBus();
    const stream = bus.subscribe(`t-${randomUUID()}`);
    await stream.ready;
    const pending = stream.next();
    await bus.close();
    await expect(pending).resolves.toEqual({ value: undefined, done: true });
    expect(bus.listenerCount()).toBe(0);
  });
});

describe.runIf(REDIS_URL)('the Redis event bus across connections', () => {
  const numsub = async (redis: Redis, topic: string) => Number((await redis.pubsub('NUMSUB', `suoke:live:${topic}`))[1]);

  it('delivers an event published through one connection to a subscriber on another (another process)', async () => {
    const publisherSide = track(new RedisEventBus(redisClient(), { log }));
    const subscriberSide = track(new RedisEventBus(redisClient(), { log }));
    const topic = `t-${randomUUID()}`;
    const stream = subscriberSide.subscribe<{ hello: string }>(topic);
    await stream.ready;
    await publisherSide.publish(topic, { hello: 'replica' });
    expect((await stream.next()).value).toEqual({ hello: 'replica' });
    expect(publisherSide.listenerCount(topic)).toBe(0);
    await stream.return();
  });

  it('SUBSCRIBEs a topic once for all its listeners and UNSUBSCRIBEs when the last one leaves', async () => {
    const observer = redisClient();
    const bus = track(new RedisEventBus(redisClient(), { log }));
    const topic = `t-${randomUUID()}`;
    const first = bus.subscribe(topic);
    const second = bus.subscribe(topic);
    await Promise.all([first.ready, second.ready]);
    expect(await numsub(observer, topic)).toBe(1);
    await first.return();
    expect(bus.listenerCount(topic)).toBe(1);
    expect(await numsub(observer, topic)).toBe(1);
    await second.return();
    await eventually(async () => (await numsub(observer, topic)) === 0);
  });

  it('every topic subscribed while the subscriber connection is still connecting becomes ready (none refused)', async () => {
    // A subgraph's first streams arrive one by one while its subscriber connection does its handshake. ioredis 5.8.2+
    // wrote SUBSCRIBEs queued meanwhile before the ready check's INFO, which Redis then refused in subscriber mode,
    // failing some of them ("Live events are unavailable"): found by `npm run bench -- live` (redis/ioredis#2037).
    let refused = 0;
    for (let round = 0; round < 15; round += 1) {
      const bus = track(new RedisEventBus(redisClient(), { log }));
      await bus.publish(`warm-${randomUUID()}`, {}); // the publishing connection is up; the subscriber one is not yet
      const waits: Promise<void>[] = [];
      for (let i = 0; i < 30; i += 1) {
        const stream = bus.subscribe(`t-${randomUUID()}`);
        waits.push(stream.ready.catch(() => void (refused += 1)));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await Promise.all(waits);
      await bus.close();
    }
    expect(refused).toBe(0);
  });
});

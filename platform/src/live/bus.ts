import { GraphQLError } from 'graphql';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createEventStream, type EventStream, type Sink } from './event-stream.js';

/**
 * Events of the live path (subscriptions): a subgraph publishes after its
 * transaction commits; every subscriber of the topic, in this process or (with
 * Redis) in any replica, receives it. Payloads travel as JSON on both backends,
 * so the embedded default sees what Redis would deliver (a Date arrives as a string).
 * Delivery is at most once: a subscriber that was not connected misses the
 * event and reads the current state when it subscribes.
 */
export interface EventBus {
  readonly kind: 'redis' | 'memory';
  /** Never rejects: the write this announces has committed, so a failure to announce it is logged, not thrown. */
  publish(topic: string, payload: unknown): Promise<void>;
  /** Subscribes at once (see EventStream); await `ready` before relying on delivery. */
  subscribe<T = unknown>(topic: string): EventStream<T>;
  /** Open subscriber streams, of one topic or of all. */
  listenerCount(topic?: string): number;
  /** Ends every stream and closes the bus's connections. */
  close(): Promise<void>;
}

export interface EventBusOptions {
  log: Logger;
  /** Unread events a subscriber may have before its stream is closed with SUBSCRIPTION_OVERFLOW. */
  maxBuffered?: number;
}

/** The channel prefix on Redis: topics of the live path only, apart from the session deny-list's. */
const CHANNEL_PREFIX = 'suoke:live:';

/** Topics to their streams, shared by both backends; the backend hears of a topic's first and last subscriber. */
abstract class TopicBus implements EventBus {
  abstract readonly kind: 'redis' | 'memory';
  private readonly topics = new Map<string, Set<Sink>>();
  protected closed = false;
  protected readonly maxBuffered: number;

  constructor(protected readonly options: EventBusOptions) {
    this.maxBuffered = options.maxBuffered ?? 100;
  }

  abstract publish(topic: string, payload: unknown): Promise<void>;
  /** The first stream of `topic` opened: resolves once the backend delivers it. */
  protected abstract attach(topic: string): Promise<void>;
  /** The last stream of `topic` closed. */
  protected abstract release(topic: string): void;

  subscribe<T = unknown>(topic: string): EventStream<T> {
    if (this.closed) {
      const { stream } = createEventStream<T>({ maxBuffered: 0, ready: Promise.reject(unavailable()), detach: () => {} });
      void stream.return();
      return stream;
    }
    let sinks = this.topics.get(topic);
    const first = !sinks;
    if (!sinks) {
      sinks = new Set();
      this.topics.set(topic, sinks);
    }
    const set = sinks;
    const holder: { sink?: Sink } = {};
    const ready = first ? this.attach(topic) : this.readyOf(topic);
    const { sink, stream } = createEventStream<T>({
      maxBuffered: this.maxBuffered,
      ready,
      detach: () => {
        set.delete(holder.sink!);
        if (set.size === 0 && this.topics.get(topic) === set) {
          this.topics.delete(topic);
          this.release(topic);
        }
      },
    });
    holder.sink = sink;
    set.add(sink);
    return stream;
  }

  /** What a later subscriber of an already attached topic waits for (Redis: the pending SUBSCRIBE). */
  protected readyOf(_topic: string): Promise<void> {
    return Promise.resolve();
  }

  /** Hands a message to every stream of the topic in this process. */
  protected deliver(topic: string, message: string): void {
    const sinks = this.topics.get(topic);
    if (!sinks) return;
    // A copy: a stream that overflows leaves the set while it is walked.
    for (const sink of [...sinks]) sink.push(message);
  }

  listenerCount(topic?: string): number {
    if (topic !== undefined) return this.topics.get(topic)?.size ?? 0;
    let total = 0;
    for (const sinks of this.topics.values()) total += sinks.size;
    return total;
  }

  /** Ends every stream: each reader's pending next() resolves as done. */
  protected endAll(): void {
    const sinks = [...this.topics.values()].flatMap((set) => [...set]);
    for (const sink of sinks) sink.end();
    this.topics.clear();
  }

  abstract close(): Promise<void>;
}

function unavailable(): GraphQLError {
  return new GraphQLError('Live events are unavailable right now: subscribe again shortly', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
}

/** In-process: the embedded default, and the single-process case. */
export class MemoryEventBus extends TopicBus {
  readonly kind = 'memory' as const;

  async publish(topic: string, payload: unknown): Promise<void> {
    if (this.closed) return;
    this.deliver(topic, JSON.stringify(payload));
  }

  protected attach(): Promise<void> {
    return Promise.resolve();
  }

  protected release(): void {}

  async close(): Promise<void> {
    this.closed = true;
    this.endAll();
  }
}

/**
 * Redis pub/sub: one publishing client and one subscriber connection per bus
 * (a process has one bus), whatever the number of topics and streams, each
 * opened when first needed. A topic
 * is SUBSCRIBEd when its first stream opens and UNSUBSCRIBEd when its last one
 * closes; ioredis subscribes again to every channel after a reconnect (events
 * published while it was away are missed, as with any pub/sub).
 */
export class RedisEventBus extends TopicBus {
  readonly kind = 'redis' as const;
  private publisherClient: Redis | undefined;
  private subscriberClient: Redis | undefined;
  private readonly pending = new Map<string, Promise<void>>();

  /** `publisher`: a client, or how to make one when first needed (then the bus owns and closes it). */
  constructor(
    private readonly publisher: Redis | (() => Redis),
    options: EventBusOptions,
  ) {
    super(options);
  }

  /** Connected when first used: a subgraph that neither publishes nor serves subscriptions opens no connection. */
  private get pub(): Redis {
    this.publisherClient ??= typeof this.publisher === 'function' ? this.publisher() : this.publisher;
    return this.publisherClient;
  }

  private get sub(): Redis {
    if (this.subscriberClient) return this.subscriberClient;
    // The offline queue on: a SUBSCRIBE sent while connecting waits for the connection instead of failing.
    // No CLIENT SETINFO in the handshake: with it, ioredis (5.8.2+) writes SUBSCRIBEs queued meanwhile before the ready
    // check's INFO, which Redis refuses in subscriber mode, failing those SUBSCRIBEs (redis/ioredis#2037).
    const subscriber = this.pub.duplicate({ enableAutoPipelining: false, enableOfflineQueue: true, maxRetriesPerRequest: 1, lazyConnect: false, disableClientInfo: true });
    subscriber.on('error', () => {}); // the publishing client reports Redis being down
    subscriber.on('message', (channel: string, message: string) => {
      if (channel.startsWith(CHANNEL_PREFIX)) this.deliver(channel.slice(CHANNEL_PREFIX.length), message);
    });
    this.subscriberClient = subscriber;
    return subscriber;
  }

  async publish(topic: string, payload: unknown): Promise<void> {
    if (this.closed) return;
    try {
      await this.pub.publish(CHANNEL_PREFIX + topic, JSON.stringify(payload));
    } catch (error) {
      this.options.log.warn({ err: error, topic }, 'live event not published (Redis unavailable): its subscribers miss it');
    }
  }

  protected attach(topic: string): Promise<void> {
    const subscribed = this.sub.subscribe(CHANNEL_PREFIX + topic).then(
      () => undefined,
      (error: unknown) => {
        this.options.log.warn({ err: error, topic }, 'live topic not subscribed (Redis unavailable)');
        throw unavailable();
      },
    );
    this.pending.set(topic, subscribed);
    void subscribed.finally(() => {
      if (this.pending.get(topic) === subscribed) this.pending.delete(topic);
    }).catch(() => undefined);
    return subscribed;
  }

  protected override readyOf(topic: string): Promise<void> {
    return this.pending.get(topic) ?? Promise.resolve();
  }

  protected release(topic: string): void {
    this.pending.delete(topic);
    if (this.closed) return;
    this.subscriberClient?.unsubscribe(CHANNEL_PREFIX + topic).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.endAll();
    this.subscriberClient?.disconnect();
    if (typeof this.publisher === 'function') this.publisherClient?.disconnect();
  }
}

/** The bus a process uses: Redis pub/sub when REDIS_URL is set, in-process otherwise. */
export function createEventBus(config: { REDIS_URL?: string | undefined }, options: EventBusOptions): EventBus {
  const url = config.REDIS_URL;
  if (!url) return new MemoryEventBus(options);
  // Not the shared client's fail-fast settings: a publish made while (re)connecting waits for the connection.
  return new RedisEventBus(() => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, enableAutoPipelining: true });
    redis.on('error', (error: Error) => options.log.debug({ err: error }, 'event bus: redis unavailable'));
    return redis;
  }, options);
}

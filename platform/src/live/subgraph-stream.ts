import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { decodeJwt } from 'jose';
import type { Logger } from 'pino';
import type { AuthUser } from '../auth/index.js';
import type { EventBus } from './bus.js';
import type { LiveConfig } from './config.js';
import type { EventStream } from './event-stream.js';
import { createStreamEndpoint } from './stream.js';

/** The process's event bus as a request sees it (SubgraphContext.events). */
export interface ContextEvents {
  /** Never rejects (a failure is logged): call it once the write it announces has committed. */
  publish(topic: string, payload: unknown): Promise<void>;
  /**
   * Subscribes and waits until delivery is established (SERVICE_UNAVAILABLE when it cannot be).
   * The request's loaders are renewed before each event is resolved, so no event reads another's cache.
   */
  subscribe<T>(topic: string): Promise<AsyncIterableIterator<T>>;
}

/** `renewLoaders` replaces the context's per-request loaders (a subscription's context lives for many events). */
export function contextEvents(bus: EventBus, renewLoaders: () => void): ContextEvents {
  return {
    publish: (topic, payload) => bus.publish(topic, payload),
    async subscribe<T>(topic: string) {
      const stream = bus.subscribe<T>(topic);
      try {
        await stream.ready;
      } catch (error) {
        await stream.return();
        throw error;
      }
      return renewingLoaders(stream, renewLoaders);
    },
  };
}

function renewingLoaders<T>(stream: EventStream<T>, renew: () => void): AsyncIterableIterator<T> {
  const wrapped: AsyncIterableIterator<T> = {
    async next() {
      const result = await stream.next();
      if (!result.done) renew();
      return result;
    },
    return: () => stream.return(),
    throw: (error?: unknown) => stream.throw(error),
    [Symbol.asyncIterator]: () => wrapped,
  };
  return wrapped;
}

interface StreamContext {
  user?: AuthUser | undefined;
}

/**
 * POST /graphql/stream of a subgraph whose schema has a Subscription type
 * (undefined otherwise): authenticated and masked as /graphql is, refused
 * with 403 without the gateway's secret, ended at the token's `exp` and when
 * its session is signed out.
 */
export function subgraphStreamEndpoint<TContext extends StreamContext>(deps: {
  schema: GraphQLSchema;
  log: Logger;
  config: Partial<LiveConfig> & { GATEWAY_SECRET?: string | undefined };
  context: (req: IncomingMessage, requestId: string) => Promise<TContext>;
  /** Throws for a user whose session has ended (SessionDenyList.check). */
  checkSession: (user: AuthUser | undefined) => void;
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  afterResult?: ((context: TContext) => Promise<void>) | undefined;
}) {
  if (!deps.schema.getSubscriptionType()) return undefined;
  const secret = deps.config.GATEWAY_SECRET;
  return createStreamEndpoint<TContext>({
    schema: deps.schema,
    log: deps.log,
    guard: secret ? secretGuard(secret) : undefined,
    context: deps.context,
    expiresAt: (req, context) => (context.user ? tokenExpiry(req.headers.authorization) : undefined),
    stillAllowed: (context) => {
      try {
        deps.checkSession(context.user);
        return undefined;
      } catch (error) {
        return error as GraphQLError;
      }
    },
    formatError: deps.formatError,
    ...(deps.afterResult ? { afterResult: deps.afterResult } : {}),
    heartbeatMs: deps.config.SUBSCRIPTION_HEARTBEAT_MS ?? 10_000,
    maxOpen: deps.config.SUBSCRIPTIONS_MAX_PER_PROCESS ?? 10_000,
  });
}

/** The token's `exp` in epoch ms; read once the token has verified. */
function tokenExpiry(authorization: string | undefined): number | undefined {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
  if (!token) return undefined;
  const exp = decodeJwt(token).exp;
  return typeof exp === 'number' ? exp * 1000 : undefined;
}

/** The contract (README, Live): 403 without the gateway's secret. */
function secretGuard(secret: string) {
  const expected = Buffer.from(secret);
  return (req: IncomingMessage) => {
    const given = req.headers['x-gateway-secret'];
    const buffer = Buffer.from(typeof given === 'string' ? given : '');
    if (buffer.length === expected.length && timingSafeEqual(buffer, expected)) return undefined;
    return { status: 403, message: 'This service accepts requests from the gateway only', code: 'FORBIDDEN' };
  };
}

/**
 * `first`, then the events of `rest`: a subscription that subscribes before it
 * reads the current state (so no change is missed between the two) and
 * answers with that state at once.
 */
export function startingWith<T>(first: T, rest: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
  let sent = false;
  const iterator: AsyncIterableIterator<T> = {
    next() {
      if (sent) return rest.next();
      sent = true;
      return Promise.resolve({ value: first, done: false });
    },
    return: () => rest.return?.() ?? Promise.resolve({ value: undefined, done: true }),
    throw: (error?: unknown) => rest.throw?.(error) ?? Promise.reject(error),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

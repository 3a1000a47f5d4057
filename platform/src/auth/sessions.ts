import type { ApolloServerPlugin } from '@apollo/server';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuthUser } from './caller.js';
import { unauthenticated } from '../errors.js';

/**
 * Sessions that ended (logout, or a stolen refresh token detected) before
 * their access tokens expire. Access tokens are believed without a lookup
 * until `exp`, so each process keeps the ended session ids (the `sid` claim)
 * in memory, checked on every request next to the token cache:
 * - the process that ends a session adds it at once and, with Redis, writes
 *   `suoke:session:ended:<sid>` (TTL: the access-token lifetime), indexes it
 *   in a sorted set and publishes it, so every replica adds it within the
 *   message's delivery;
 * - a replica loads the index whenever its subscription is (re)established,
 *   so messages missed while it was down or disconnected are not lost;
 * - without Redis, the user subgraph names the ended session in a response
 *   header that only the gateway believes (the request carried the gateway's
 *   secret; see SESSION_ENDED_HEADER).
 * Entries go once the last access token they could refuse has expired.
 */

const CHANNEL = 'suoke:session:ended';
const INDEX = 'suoke:session:ended:index';
const endedKey = (sid: string) => `suoke:session:ended:${sid}`;
/** Session ids are the user subgraph's refresh-token family ids. */
const SID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** At most this many sessions in one header; a logout ends one. */
const MAX_HEADER_ENTRIES = 16;

/** `<sid> <until epoch ms>`, comma-separated: the user subgraph's answer to a request that ended sessions. */
export const SESSION_ENDED_HEADER = 'x-suoke-session-ended';
export const SESSION_ENDED_MESSAGE = 'The session of this access token has ended (signed out): sign in again';

export class SessionDenyList {
  private readonly ended = new Map<string, number>();
  private subscriber: Redis | undefined;
  private addsSincePurge = 0;
  private markLoaded: () => void = () => {};
  /** Settles once the list ended by other processes has been loaded (at once without Redis). */
  private readonly firstLoad = new Promise<void>((resolve) => (this.markLoaded = resolve));

  constructor(
    private readonly redis: Redis | undefined,
    private readonly log: Logger,
  ) {}

  /** Whether the session has ended and its access tokens must be refused. */
  has(sid: string): boolean {
    const until = this.ended.get(sid);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.ended.delete(sid);
    return false;
  }

  /** Throws UNAUTHENTICATED for a token of an ended session. */
  check(user: AuthUser | undefined): void {
    if (user?.sessionId !== undefined && this.has(user.sessionId)) throw unauthenticated(SESSION_ENDED_MESSAGE);
  }

  /** Remembers, in this process only, that `sid` has ended until `untilMs`. Malformed input is ignored. */
  add(sid: string, untilMs: number): void {
    if (!SID.test(sid) || !Number.isFinite(untilMs) || untilMs <= Date.now()) return;
    if ((this.ended.get(sid) ?? 0) < untilMs) this.ended.set(sid, untilMs);
    this.addsSincePurge += 1;
    if (this.addsSincePurge >= 1_000) this.purge();
  }

  /**
   * Ends `sid` for `ttlSeconds` (the longest an access token of it may still
   * be valid): here at once, and in every replica through Redis. A Redis
   * failure is logged, not thrown: the session is ended in the database
   * already, and this process and the gateway (by header) still refuse it.
   */
  async end(sid: string, ttlSeconds: number): Promise<number> {
    const untilMs = Date.now() + ttlSeconds * 1000;
    this.add(sid, untilMs);
    if (!this.redis) return untilMs;
    try {
      const results = await this.redis
        .multi()
        .set(endedKey(sid), String(untilMs), 'EX', Math.ceil(ttlSeconds))
        .zadd(INDEX, untilMs, sid)
        .zremrangebyscore(INDEX, '-inf', Date.now())
        .publish(CHANNEL, `${sid} ${untilMs}`)
        .exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw failed?.[0] ?? new Error('MULTI aborted');
    } catch (error) {
      this.log.error({ err: error }, 'session deny-list: Redis unreachable; other replicas accept this session\'s access tokens until they expire');
    }
    return untilMs;
  }

  /** Listens for sessions ended by other processes (with Redis); loads the current list at every (re)subscription. */
  start(): void {
    if (!this.redis) this.markLoaded();
    if (!this.redis || this.subscriber) return;
    const subscriber = this.redis.duplicate({ enableAutoPipelining: false });
    this.subscriber = subscriber;
    subscriber.on('error', () => {}); // the main client already reports Redis being down
    subscriber.on('message', (_channel: string, message: string) => {
      const [sid = '', until = ''] = message.split(' ', 2);
      this.add(sid, Number(until));
    });
    subscriber.on('ready', () => {
      // Subscribed first, then loaded: an end published in between is in one or the other.
      subscriber
        .subscribe(CHANNEL)
        .then(() => this.load())
        .then(() => this.markLoaded())
        .catch((error: Error) => this.log.warn({ err: error }, 'session deny-list: subscribing failed; ended sessions of other replicas are missed until it succeeds'));
    });
  }

  /**
   * Waits (at most `timeoutMs`) for the first load of the sessions other replicas ended, so that a
   * process that starts answering right after a logout elsewhere already refuses its tokens.
   */
  async loaded(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([this.firstLoad.then(() => true), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async load(): Promise<void> {
    const entries = await this.redis!.zrangebyscore(INDEX, Date.now(), '+inf', 'WITHSCORES');
    for (let i = 0; i + 1 < entries.length; i += 2) this.add(entries[i]!, Number(entries[i + 1]));
  }

  /** Entries the user subgraph named in SESSION_ENDED_HEADER; the caller has checked where the answer came from. */
  addFromHeader(value: string | null | undefined): void {
    if (!value) return;
    for (const entry of value.split(',', MAX_HEADER_ENTRIES)) {
      const [sid = '', until = ''] = entry.trim().split(' ', 2);
      this.add(sid, Number(until));
    }
  }

  private purge(): void {
    this.addsSincePurge = 0;
    const now = Date.now();
    for (const [sid, until] of this.ended) if (until <= now) this.ended.delete(sid);
  }

  close(): void {
    this.subscriber?.disconnect();
  }
}

/** What a subgraph's resolvers use to end a session; the ends are named in the response for the gateway. */
export interface RequestSessions {
  end(sid: string, ttlSeconds: number): Promise<void>;
  readonly ended: string[];
}

export function requestSessions(list: SessionDenyList): RequestSessions {
  const ended: string[] = [];
  return {
    ended,
    async end(sid, ttlSeconds) {
      const untilMs = await list.end(sid, ttlSeconds);
      ended.push(`${sid} ${untilMs}`);
    },
  };
}

/**
 * Names the sessions a request ended in SESSION_ENDED_HEADER. Only for
 * subgraphs behind the gateway's secret: then the request came from the
 * gateway, which is the only reader the header has.
 */
export function sessionEndedHeaderPlugin<T extends { sessions: RequestSessions }>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, response }) {
          const ended = contextValue.sessions?.ended;
          if (ended && ended.length > 0) response.http.headers.set(SESSION_ENDED_HEADER, ended.slice(0, MAX_HEADER_ENTRIES).join(', '));
        },
      };
    },
  };
}

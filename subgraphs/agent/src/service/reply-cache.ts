import { createHash } from 'node:crypto';
import type { RedisKeyValueCache } from '@suoke/platform';
import type { Turn } from '../db/conversations.js';
import type { CitationRef, ReplyProvider, StoredToolCall } from '../db/schema.js';
import { PERSONA_VERSION } from './personas.js';

/** A reply as the cache keeps it. */
export interface CachedReply {
  text: string;
  provider: ReplyProvider;
  citations: CitationRef[];
  /** The tool calls that produced it (`Message.toolCalls`); absent in entries cached before they were kept. */
  toolCalls?: StoredToolCall[];
}

export interface ReplyCache {
  readonly kind: 'redis' | 'memory';
  get(key: string): Promise<CachedReply | undefined>;
  set(key: string, reply: CachedReply, ttlSeconds: number): Promise<void>;
}

/**
 * What makes two questions the same question: Unicode compatibility forms
 * folded (full-width ＡＢＣ and ？ become ABC and ?), case, runs of white space,
 * and trailing punctuation ignored. "气虚吃什么？ " and "气虚吃什么" share a reply.
 */
export function normaliseQuestion(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/gu, ' ')
    .trim()
    .replace(/[\s\p{P}]+$/u, '');
}

/**
 * The cache key of a reply: the agent, the normalised question, the provider
 * (and model) answering, the persona version, and — only for providers whose
 * answer depends on them — the earlier turns. A reply built with a user's
 * personal context also carries the user and the grant's version, so that it is
 * never served to anyone else nor after a grant or revocation. Hashed, so that
 * questions and user ids never appear in Redis key names. (v2: replies may call
 * tools, so v1's answers are not today's. v3: an entry keeps the reply's tool calls, which v2's lack.)
 */
export function replyCacheKey(parts: {
  agentId: string;
  question: string;
  providerIdentity: string;
  history?: readonly Turn[] | undefined;
  personal?: { userId: string; grantVersion: string } | undefined;
}): string {
  const material = JSON.stringify([
    PERSONA_VERSION,
    parts.agentId,
    parts.providerIdentity,
    normaliseQuestion(parts.question),
    (parts.history ?? []).map((turn) => [turn.role, normaliseQuestion(turn.text)]),
    parts.personal ? [parts.personal.userId.toLowerCase(), parts.personal.grantVersion] : null,
  ]);
  return `reply:v3:${createHash('sha256').update(material).digest('base64url')}`;
}

/** A bounded in-process cache: entries expire after their TTL; beyond `maxEntries` the least recently used go first. */
export class MemoryReplyCache implements ReplyCache {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, { reply: CachedReply; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<CachedReply | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.reply;
  }

  async set(key: string, reply: CachedReply, ttlSeconds: number): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { reply, expiresAt: this.now() + ttlSeconds * 1000 });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** Replies shared by every replica through Redis. A Redis outage reads as misses (logged by the platform cache), never as failures. */
export class RedisReplyCache implements ReplyCache {
  readonly kind = 'redis' as const;

  constructor(private readonly store: Pick<RedisKeyValueCache, 'get' | 'set'>) {}

  async get(key: string): Promise<CachedReply | undefined> {
    const text = await this.store.get(key);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as CachedReply;
    } catch {
      return undefined;
    }
  }

  async set(key: string, reply: CachedReply, ttlSeconds: number): Promise<void> {
    await this.store.set(key, JSON.stringify(reply), { ttl: ttlSeconds });
  }
}

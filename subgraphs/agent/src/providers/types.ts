import type { Turn } from '../db/conversations.js';
import type { AgentRow, CitationKind, ReplyProvider } from '../db/schema.js';

/** One knowledge entity found for a question, with what a reply may quote of it. */
export interface KnowledgeHit {
  kind: CitationKind;
  /** The owner's key: `code` or `id`. */
  key: string;
  /** Its Chinese name or title. */
  title: string;
  /** One line about it, as the knowledge base words it. */
  summary: string;
  score: number;
  /** Its English name or title, when the knowledge base gave one. */
  titleEn?: string;
  /** What else a reply may quote, by aspect (e.g. a constitution's `seasons` advice, a herb's `cautions`). */
  details?: Partial<Record<KnowledgeAspect, string>>;
}

/** The parts of an entry a question can be about, beyond its summary. */
export type KnowledgeAspect = 'diet' | 'exercise' | 'sleep' | 'emotions' | 'seasons' | 'cautions' | 'location' | 'signs';

/** What a search of the knowledge base gave: `reachable` is false when it could not be asked at all. */
export interface Knowledge {
  reachable: boolean;
  hits: KnowledgeHit[];
}

/** Everything a provider answers from. */
export interface ChatRequest {
  agent: AgentRow;
  /** The user's message, trimmed. */
  question: string;
  /** Earlier messages of the conversation, oldest first (empty for a new conversation). */
  history: Turn[];
  /** Knowledge found for the question; the reply cites these. */
  knowledge: Knowledge;
  /** Set when the offline responder stands in for a model provider that failed or whose breaker is open. */
  standIn?: boolean;
}

/**
 * A source of replies. Providers only produce text: retries, timeouts, the
 * breaker, caching and fallback are applied around them (service/replies.ts).
 */
export interface ChatProvider {
  readonly kind: ReplyProvider;
  /** Whether earlier turns change the answer, and so belong in the reply cache key. */
  readonly usesHistory: boolean;
  /** What, besides the question, identifies this provider's answers in the cache (e.g. the model name). */
  readonly cacheIdentity: string;
  reply(request: ChatRequest, signal: AbortSignal): Promise<string>;
  /**
   * The reply as it is produced, in pieces of text (each non-empty). The iterator rejects with a ProviderError when
   * the provider fails, before or after its first piece; `signal` aborts it. Without it the reply is one piece.
   */
  stream?(request: ChatRequest, signal: AbortSignal): AsyncIterable<string>;
}

/**
 * A failed provider call. `transient` failures (network, timeout, 429, 5xx) are
 * retried; the rest are not. `healthy` failures are the request's fault (a
 * 400), not the provider's, and do not count towards opening the breaker.
 */
export class ProviderError extends Error {
  readonly status: number | undefined;
  readonly transient: boolean;
  readonly healthy: boolean;
  /** Seconds the provider asked to wait (Retry-After), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options: { status?: number; transient: boolean; healthy?: boolean; retryAfterSeconds?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProviderError';
    this.status = options.status;
    this.transient = options.transient;
    this.healthy = options.healthy ?? false;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** The breaker of a provider is open: the call was not made. */
export class BreakerOpenError extends Error {
  constructor(name: string) {
    super(`the ${name} circuit breaker is open; the call was not made`);
    this.name = 'BreakerOpenError';
  }
}

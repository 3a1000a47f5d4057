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
  /**
   * What may be said to a model about the person (summariseForProvider: a short summary, never ids or free text);
   * absent or null: nothing personal.
   */
  personal?: string | null | undefined;
  /** The tools the model may call in this reply (the model path only); none: a plain completion. */
  tools?: readonly ToolSpec[] | undefined;
  /** 'none' asks for an answer without further calls: the last round, once AGENT_MAX_TOOL_ROUNDS are used. */
  toolChoice?: 'auto' | 'none' | undefined;
  /** The tool rounds of this reply so far: the model's calls and their results, in order. */
  transcript?: readonly TranscriptEntry[] | undefined;
  /** Tools run for this reply (by the model's calls or the offline rules), for the offline responder to render. */
  toolResults?: readonly ToolOutcome[] | undefined;
  /** The user's IANA time zone, for times the reply states. */
  timeZone?: string | undefined;
}

/** A tool as the model is told about it: OpenAI's `function` tool. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/** One call the model asked for; `arguments` is the model's raw JSON text, untrusted until validated. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A tool call once run: `result` is what the model reads (JSON), `ok` false for an error result. */
export interface ToolOutcome {
  call: ToolCall;
  ok: boolean;
  result: Record<string, unknown>;
}

/** One round of the tool loop, replayed to the model: its assistant message with calls, then one tool message each. */
export interface TranscriptEntry {
  /** The text the model wrote alongside its calls (usually none). */
  text: string;
  calls: ToolCall[];
  outcomes: ToolOutcome[];
}

/** One answer of a model that can call tools: text, tool calls, or both. */
export interface ModelTurn {
  text: string;
  toolCalls: ToolCall[];
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
  /**
   * A model that can call tools: one round of the conversation, with `request.tools` offered and `request.transcript`
   * replayed. Fails like `reply`; an answer with neither text nor calls is a non-transient ProviderError.
   */
  turn?(request: ChatRequest, signal: AbortSignal): Promise<ModelTurn>;
  /** `turn`, streamed: text pieces go to `onText` as they come (tool-call pieces are assembled, not emitted). */
  streamTurn?(request: ChatRequest, signal: AbortSignal, onText: (piece: string) => void): Promise<ModelTurn>;
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

import type { Logger } from '@suoke/platform';
import type { Turn } from '../db/conversations.js';
import type { AgentRow, CitationRef, ReplyProvider, StoredToolCall } from '../db/schema.js';
import type { ChatProvider, ChatRequest } from '../providers/types.js';
import type { KnowledgeSearch } from './knowledge.js';
import { redFlagReply, redFlagOf } from './red-flags.js';
import type { CachedReply, ReplyCache } from './reply-cache.js';
import type { ResilientCall } from './resilience.js';
import type { PersonalContext } from './tools/deps.js';
import type { ReplyCaller, ReplyTools } from './tools/pipeline.js';

/** What ReplyService (replies.ts) is asked, is configured with, answers and counts; and the replies it gives by rule. */

export interface ReplyOutcome {
  text: string;
  provider: ReplyProvider;
  /** The model failed or its breaker was open (the offline responder answered), or the knowledge base was unreachable. */
  degraded: boolean;
  citations: CitationRef[];
  /** Served from the reply cache without asking any provider. */
  cached: boolean;
  /** 小艾 passed the question on (the hand_off tool): sendMessage opens the receiving agent's conversation. */
  handOff?: { agentId: string; question: string } | undefined;
  /** Rounds of tool calls this reply made (the model's, or the offline rules'). */
  toolRounds?: number;
  /** The calls those rounds made, in order, as stored with the reply (`Message.toolCalls`); a cached reply's are its producer's. */
  toolCalls: StoredToolCall[];
  /**
   * False when producing it changed something for its caller (a reminder, a booking, a hand-off): never cached, and
   * never shared with an identical request in flight, which produces its own.
   */
  shareable?: boolean;
  /** Whose request produced it (the user's message id), for the check above. */
  producedFor?: string | undefined;
}

/** What a reply is asked for. */
export interface ReplyRequest {
  agent: AgentRow;
  question: string;
  history: readonly Turn[];
  /** The verified caller: without it the reply uses no tools and nothing personal. */
  caller?: ReplyCaller | undefined;
  /** False for the receiving agent of a hand-off: it answers, it does not pass the question on again. */
  allowHandOff?: boolean;
}

/** A request as produced: the history the provider uses, and the personal context loaded for it. */
export type Prepared = Omit<ChatRequest, 'knowledge'> & { caller?: ReplyCaller | undefined; allowHandOff: boolean; personalContext: PersonalContext | null };

export interface ReplyServiceOptions {
  /** The configured provider: the offline responder, or a model behind `resilience`. */
  primary: ChatProvider;
  /** Answers when the primary fails; it must not fail itself for want of a network. */
  offline: ChatProvider;
  /** Timeout, retries and breaker around the primary; required unless the primary is the offline responder. */
  resilience?: ResilientCall | undefined;
  knowledge: KnowledgeSearch;
  /** Tools and the personal context; without them replies use neither (as before tools existed). */
  tools?: ReplyTools | undefined;
  cache: ReplyCache;
  /** 0 disables caching. */
  cacheTtlSeconds: number;
  /**
   * How long producing a reply may take — the knowledge search, then the model's attempts and backoff — before
   * the offline responder answers instead (degraded). Keep it under the gateway's timeout for this subgraph
   * (SUBGRAPH_AGENT_TIMEOUT_MS, by default SUBGRAPH_TIMEOUT_MS = 10 s) less the time to store the messages: a
   * reply the gateway has stopped waiting for reaches nobody. 0: no deadline. Default DEFAULT_REPLY_DEADLINE_MS.
   */
  deadlineMs?: number | undefined;
  /**
   * A streamed reply: once its first piece of text arrived, the longest silence between pieces (the per-attempt
   * timeout no longer applies) and the longest the whole stream may take. Either counts as a failure of the provider
   * after the reply began. Defaults 20 s and 120 s.
   */
  streamIdleMs?: number | undefined;
  streamMaxMs?: number | undefined;
  log: Logger;
}

/** What a streamed reply ended as; its text went out piece by piece through `onPiece` (a cached one: not at all). */
export interface StreamedOutcome extends ReplyOutcome {
  /** Caches the reply (a complete one only): call once it is stored COMPLETE. */
  remember(): Promise<void>;
}

/** The note that starts the offline responder's continuation of a reply whose model failed after it had begun. */
export const CONTINUED_OFFLINE = '\n\n（模型服务中断，上面的回答没有说完；以下是离线模式的回答。）\n';

/** 8 s: within the gateway's default 10 s subgraph timeout, with room to store the messages. */
export const DEFAULT_REPLY_DEADLINE_MS = 8_000;

export interface ReplyStats {
  /** Replies produced (not served from the cache). */
  produced: number;
  cacheHits: number;
  /** Replies produced by the offline responder standing in for the primary. */
  fallbacks: number;
  /** Replies by agent id and source (suoke_agent_replies_total); requests that joined an identical one in flight are not counted again. */
  bySource: Map<string, Record<ReplySource, number>>;
}

/** Where a reply came from: the configured provider (`model`; the offline responder when it is the one configured), the reply cache, or the offline responder standing in for a failed model. */
export type ReplySource = 'model' | 'cache' | 'fallback';

/**
 * A red flag (chest pain, signs of stroke, thoughts of self-harm) is answered first, by rule, whatever else the
 * message asks and whichever provider is configured: no knowledge search, no model, and never cached (the reply
 * message itself is stored like any other).
 */
export function urgentReply(request: { agent: AgentRow; question: string }): ReplyOutcome | undefined {
  const flag = redFlagOf(request.question);
  if (!flag) return undefined;
  return { text: redFlagReply(request.agent, flag, request.question), provider: 'OFFLINE', degraded: false, citations: [], cached: false, toolCalls: [] };
}

/** What the cache keeps of a reply: its text and what it rests on, the tool calls that made it included. */
export function cachedOf(outcome: ReplyOutcome): CachedReply {
  return { text: outcome.text, provider: outcome.provider, citations: outcome.citations, toolCalls: outcome.toolCalls };
}

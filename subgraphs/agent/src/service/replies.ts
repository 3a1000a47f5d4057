import type { Logger } from '@suoke/platform';
import type { Turn } from '../db/conversations.js';
import type { AgentRow, CitationRef, ReplyProvider } from '../db/schema.js';
import { ProviderError, type ChatProvider, type ChatRequest, type Knowledge } from '../providers/types.js';
import { analyse } from './intents.js';
import type { KnowledgeSearch } from './knowledge.js';
import { personaOf } from './personas.js';
import { redFlagOf, redFlagReply } from './red-flags.js';
import { replyCacheKey, type ReplyCache } from './reply-cache.js';
import type { ResilientCall } from './resilience.js';
import { SingleFlight } from './single-flight.js';

export interface ReplyOutcome {
  text: string;
  provider: ReplyProvider;
  /** The model failed or its breaker was open (the offline responder answered), or the knowledge base was unreachable. */
  degraded: boolean;
  citations: CitationRef[];
  /** Served from the reply cache without asking any provider. */
  cached: boolean;
}

export interface ReplyServiceOptions {
  /** The configured provider: the offline responder, or a model behind `resilience`. */
  primary: ChatProvider;
  /** Answers when the primary fails; it must not fail itself for want of a network. */
  offline: ChatProvider;
  /** Timeout, retries and breaker around the primary; required unless the primary is the offline responder. */
  resilience?: ResilientCall | undefined;
  knowledge: KnowledgeSearch;
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
}

/**
 * Produces an agent's reply to a question. Identical requests in flight share
 * one computation (single-flight, keyed like the cache); a cached reply is
 * served without asking anyone; otherwise the knowledge base is searched for
 * the question's terms, the primary provider answers (through timeout, retries
 * and breaker, within the reply's deadline), and if it fails or runs out of
 * time the offline responder stands in and the reply is marked degraded.
 * Only complete replies are cached: a degraded one would outlive the outage
 * that caused it.
 */
export class ReplyService {
  readonly stats: ReplyStats = { produced: 0, cacheHits: 0, fallbacks: 0 };
  private readonly flights = new SingleFlight<ReplyOutcome>();

  constructor(private readonly options: ReplyServiceOptions) {
    if (options.primary.kind !== 'OFFLINE' && !options.resilience) throw new Error('ReplyService: a remote primary provider needs a ResilientCall');
  }

  /** Requests that joined an identical one in flight. */
  get shared(): number {
    return this.flights.shared;
  }

  reply(request: { agent: AgentRow; question: string; history: readonly Turn[] }): Promise<ReplyOutcome> {
    const urgent = urgentReply(request);
    if (urgent) return Promise.resolve(urgent);
    const { primary } = this.options;
    const history = primary.usesHistory ? [...request.history] : [];
    const key = replyCacheKey({ agentId: request.agent.id, question: request.question, providerIdentity: primary.cacheIdentity, history });
    return this.flights.run(key, () => this.cachedOrProduced(key, { agent: request.agent, question: request.question, history }));
  }

  private async cachedOrProduced(key: string, request: Omit<ChatRequest, 'knowledge'>): Promise<ReplyOutcome> {
    const { cache, cacheTtlSeconds } = this.options;
    if (cacheTtlSeconds > 0) {
      const hit = await cache.get(key);
      if (hit) {
        this.stats.cacheHits += 1;
        return { ...hit, degraded: false, cached: true };
      }
    }
    const outcome = await this.produce(request);
    if (cacheTtlSeconds > 0 && !outcome.degraded) {
      await cache.set(key, { text: outcome.text, provider: outcome.provider, citations: outcome.citations }, cacheTtlSeconds);
    }
    return outcome;
  }

  private async produce(request: Omit<ChatRequest, 'knowledge'>): Promise<ReplyOutcome> {
    const { primary, offline, resilience, log } = this.options;
    const deadlineMs = this.options.deadlineMs ?? DEFAULT_REPLY_DEADLINE_MS;
    const deadline = deadlineMs > 0 ? Date.now() + deadlineMs : undefined;
    this.stats.produced += 1;
    const knowledge = await this.search(request.agent.id, request.question);
    const chat: ChatRequest = { ...request, knowledge };
    const citations = knowledge.hits.map(({ kind, key }) => ({ kind, key }));
    const degradedKnowledge = !knowledge.reachable;
    if (primary.kind === 'OFFLINE' || !resilience) {
      return { text: await primary.reply(chat, AbortSignal.timeout(10_000)), provider: primary.kind, degraded: degradedKnowledge, citations, cached: false };
    }
    try {
      const text = await resilience.call((signal) => primary.reply(chat, signal), { deadline });
      return { text, provider: primary.kind, degraded: degradedKnowledge, citations, cached: false };
    } catch (error) {
      this.stats.fallbacks += 1;
      log.warn({ err: error, provider: primary.kind, breaker: resilience.state }, 'model provider failed: the offline responder answers instead');
      const text = await offline.reply({ ...chat, standIn: true }, AbortSignal.timeout(10_000));
      return { text, provider: offline.kind, degraded: true, citations, cached: false };
    }
  }

  /**
   * A streamed reply: the same cache, knowledge search, provider, retries, breaker, deadline and fallback as `reply`,
   * with the text handed to `onPiece` as it comes. Before the first piece, a failure is retried and, when the attempts
   * or the deadline (LLM_DEADLINE_MS, which here bounds the time to the first piece) run out, the offline responder
   * answers instead, degraded. After it, nothing is retried (the user has read the text): the failure counts for the
   * breaker, and the offline responder continues the reply after a note that says the model stopped
   * (CONTINUED_OFFLINE), degraded. A cached reply is returned at once without pieces. Not single-flight: each streamed reply has its
   * own message and stream. `signal` aborts the whole reply (the service is stopping).
   */
  async stream(
    request: { agent: AgentRow; question: string; history: readonly Turn[] },
    onPiece: (text: string) => void,
    signal: AbortSignal,
  ): Promise<StreamedOutcome> {
    const urgent = urgentReply(request);
    if (urgent) {
      onPiece(urgent.text);
      return { ...urgent, remember: async () => {} };
    }
    const { primary, offline, resilience, cache, cacheTtlSeconds, log } = this.options;
    const history = primary.usesHistory ? [...request.history] : [];
    const key = replyCacheKey({ agentId: request.agent.id, question: request.question, providerIdentity: primary.cacheIdentity, history });
    const keep = (outcome: ReplyOutcome): StreamedOutcome => ({
      ...outcome,
      remember: async () => {
        if (cacheTtlSeconds > 0 && !outcome.degraded && !outcome.cached) {
          await cache.set(key, { text: outcome.text, provider: outcome.provider, citations: outcome.citations }, cacheTtlSeconds);
        }
      },
    });
    if (cacheTtlSeconds > 0) {
      const hit = await cache.get(key);
      if (hit) {
        this.stats.cacheHits += 1;
        return keep({ ...hit, degraded: false, cached: true });
      }
    }
    const deadlineMs = this.options.deadlineMs ?? DEFAULT_REPLY_DEADLINE_MS;
    const deadline = deadlineMs > 0 ? Date.now() + deadlineMs : undefined;
    this.stats.produced += 1;
    const knowledge = await this.search(request.agent.id, request.question);
    const chat: ChatRequest = { agent: request.agent, question: request.question, history, knowledge };
    const citations = knowledge.hits.map(({ kind, key }) => ({ kind, key }));
    const degradedKnowledge = !knowledge.reachable;
    let text = '';
    const emit = (piece: string) => {
      text += piece;
      onPiece(piece);
    };
    if (primary.kind === 'OFFLINE' || !resilience) {
      await this.pieces(primary, chat, signal, emit);
      return keep({ text, provider: primary.kind, degraded: degradedKnowledge, citations, cached: false });
    }
    try {
      await resilience.call((attempt) => this.modelStream(chat, attempt, signal, emit), { deadline, hedge: false });
      return keep({ text, provider: primary.kind, degraded: degradedKnowledge, citations, cached: false });
    } catch (error) {
      signal.throwIfAborted();
      this.stats.fallbacks += 1;
      const began = text !== '';
      log.warn(
        { err: error, provider: primary.kind, breaker: resilience.state, began },
        began ? 'model provider failed mid-stream: the offline responder continues the reply' : 'model provider failed: the offline responder answers instead',
      );
      if (began) emit(CONTINUED_OFFLINE);
      // Continuing, the note above says what happened; answering instead, the stand-in line does.
      await this.pieces(offline, began ? chat : { ...chat, standIn: true }, signal, emit);
      return keep({ text, provider: offline.kind, degraded: true, citations, cached: false });
    }
  }

  /** One attempt of the model's stream: the attempt's timeout holds until the first piece, then idle and total limits. */
  private async modelStream(chat: ChatRequest, attempt: AbortSignal, outer: AbortSignal, emit: (piece: string) => void): Promise<void> {
    const idleMs = this.options.streamIdleMs ?? 20_000;
    const maxMs = this.options.streamMaxMs ?? 120_000;
    // Stopping: no attempt starts (a listener added to an aborted signal would never fire).
    outer.throwIfAborted();
    const controller = new AbortController();
    let began = false;
    let idle: ReturnType<typeof setTimeout> | undefined;
    const stopAll = () => controller.abort(outer.reason);
    const stopAttempt = () => {
      if (!began) controller.abort(attempt.reason);
    };
    const total = setTimeout(() => controller.abort(new DOMException('the streamed reply took too long', 'TimeoutError')), maxMs);
    outer.addEventListener('abort', stopAll, { once: true });
    attempt.addEventListener('abort', stopAttempt, { once: true });
    if (attempt.aborted) stopAttempt();
    try {
      const stream = this.options.primary.stream?.(chat, controller.signal) ?? once(this.options.primary.reply(chat, controller.signal));
      for await (const piece of stream) {
        began = true;
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(new DOMException('the model provider stopped streaming', 'TimeoutError')), idleMs);
        emit(piece);
      }
    } catch (error) {
      // Stopping: not the provider's failure to retry.
      if (outer.aborted) throw outer.reason;
      // Not retried once text went out; still the provider's failure for the breaker (not `healthy`).
      if (began) throw new ProviderError('the model provider failed after its reply began', { transient: false, cause: error });
      throw error;
    } finally {
      clearTimeout(idle);
      clearTimeout(total);
      outer.removeEventListener('abort', stopAll);
      attempt.removeEventListener('abort', stopAttempt);
    }
  }

  /** A provider's reply in pieces (one piece when it cannot stream). */
  private async pieces(provider: ChatProvider, chat: ChatRequest, signal: AbortSignal, emit: (piece: string) => void): Promise<void> {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(this.options.streamMaxMs ?? 120_000)]);
    const stream = provider.stream?.(chat, timeout) ?? once(provider.reply(chat, timeout));
    for await (const piece of stream) emit(piece);
  }

  private search(agentId: string, question: string): Promise<Knowledge> {
    const analysis = analyse(question);
    return this.options.knowledge.search(analysis.terms, personaOf(agentId).prefers, { question: analysis.question });
  }
}

/**
 * A red flag (chest pain, signs of stroke, thoughts of self-harm) is answered first, by rule, whatever else the
 * message asks and whichever provider is configured: no knowledge search, no model, and never cached (the reply
 * message itself is stored like any other).
 */
function urgentReply(request: { agent: AgentRow; question: string }): ReplyOutcome | undefined {
  const flag = redFlagOf(request.question);
  if (!flag) return undefined;
  return { text: redFlagReply(request.agent, flag, request.question), provider: 'OFFLINE', degraded: false, citations: [], cached: false };
}

async function* once(text: Promise<string>): AsyncGenerator<string> {
  yield await text;
}

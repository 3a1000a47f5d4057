import type { Logger } from '@suoke/platform';
import type { Turn } from '../db/conversations.js';
import type { AgentRow, CitationRef, ReplyProvider } from '../db/schema.js';
import type { ChatProvider, ChatRequest, Knowledge } from '../providers/types.js';
import { analyse } from './intents.js';
import type { KnowledgeSearch } from './knowledge.js';
import { personaOf } from './personas.js';
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
  log: Logger;
}

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

  private search(agentId: string, question: string): Promise<Knowledge> {
    return this.options.knowledge.search(analyse(question).terms, personaOf(agentId).prefers);
  }
}

import { type ChatProvider, type ChatRequest, type Knowledge } from '../providers/types.js';
import { analyse } from './intents.js';
import type { KnowledgeSearch } from './knowledge.js';
import { personaOf } from './personas.js';
import { replyCacheKey } from './reply-cache.js';
import { modelStreamAttempt, providerPieces, turnOf } from './model-stream.js';
import {
  cachedOf,
  CONTINUED_OFFLINE,
  DEFAULT_REPLY_DEADLINE_MS,
  urgentReply,
  type Prepared,
  type ReplyOutcome,
  type ReplyRequest,
  type ReplyServiceOptions,
  type ReplySource,
  type ReplyStats,
  type StreamedOutcome,
} from './reply-types.js';
import { SingleFlight } from './single-flight.js';
import type { ToolSession } from './tools/runner.js';

// What callers of ReplyService name (its options, outcomes, sources), kept in reply-types.ts.
export * from './reply-types.js';

/**
 * Produces an agent's reply to a question. Identical requests in flight share
 * one computation (single-flight, keyed like the cache); a cached reply is
 * served without asking anyone; otherwise the knowledge base is searched for
 * the question's terms, the primary provider answers (through timeout, retries
 * and breaker, within the reply's deadline), and if it fails or runs out of
 * time the offline responder stands in and the reply is marked degraded.
 * Only complete replies are cached: a degraded one would outlive the outage
 * that caused it.
 *
 * With tools (service/tools/pipeline.ts): the caller's granted context is
 * loaded first (it decides the cache key: a reply built on it is keyed by the
 * user and the grant's version); a model gets only its summary and runs a
 * bounded tool loop, each round one resilient call within the same deadline;
 * the offline responder runs the offline rules' calls and renders the results
 * (also when it stands in for a model that failed before any tool ran).
 * A reply whose tools changed something is neither cached nor shared.
 */
export class ReplyService {
  readonly stats: ReplyStats = { produced: 0, cacheHits: 0, fallbacks: 0, bySource: new Map() };
  private readonly flights = new SingleFlight<ReplyOutcome>();

  constructor(private readonly options: ReplyServiceOptions) {
    if (options.primary.kind !== 'OFFLINE' && !options.resilience) throw new Error('ReplyService: a remote primary provider needs a ResilientCall');
  }

  private counted(agentId: string, source: ReplySource): void {
    let sources = this.stats.bySource.get(agentId);
    if (!sources) this.stats.bySource.set(agentId, (sources = { model: 0, cache: 0, fallback: 0 }));
    sources[source] += 1;
  }

  /** Requests that joined an identical one in flight. */
  get shared(): number {
    return this.flights.shared;
  }

  async reply(request: ReplyRequest): Promise<ReplyOutcome> {
    const urgent = urgentReply(request);
    if (urgent) return urgent;
    const prepared = await this.prepare(request);
    const key = this.keyOf(prepared);
    const outcome = await this.flights.run(key, () => this.cachedOrProduced(key, prepared));
    // An identical request in flight changed something for its own caller: this one needs its own reply.
    if (outcome.shareable === false && outcome.producedFor !== request.caller?.messageKey) return this.produce(prepared);
    return outcome;
  }

  /** The history the provider uses, and the user's granted context (loaded once per message: revocation is seen at once). */
  private async prepare(request: ReplyRequest): Promise<Prepared> {
    const history = this.options.primary.usesHistory ? [...request.history] : [];
    // A model that may be sent nothing personal (AGENT_PROVIDER_PHI=off: no summary, no personal tools) answers
    // without it: nothing is read, and the reply stays shareable in the cache.
    const unused = this.options.primary.kind !== 'OFFLINE' && this.options.tools?.sendsPersonal() === false;
    const personalContext = unused ? null : ((await this.options.tools?.personal(request.caller)) ?? null);
    return { agent: request.agent, question: request.question, history, caller: request.caller, allowHandOff: request.allowHandOff ?? true, personalContext };
  }

  /** A reply built on personal data is keyed by its user and the grant's version: nobody else, and no other consent, gets it. */
  private keyOf(prepared: Prepared): string {
    const personal = prepared.personalContext;
    return replyCacheKey({
      agentId: prepared.agent.id,
      question: prepared.question,
      providerIdentity: this.options.primary.cacheIdentity,
      history: prepared.history,
      ...(personal ? { personal: { userId: personal.userId, grantVersion: personal.grantVersion } } : {}),
    });
  }

  private cacheable(outcome: ReplyOutcome): boolean {
    return this.options.cacheTtlSeconds > 0 && !outcome.degraded && !outcome.cached && outcome.shareable !== false;
  }

  private async cachedOrProduced(key: string, request: Prepared): Promise<ReplyOutcome> {
    const { cache, cacheTtlSeconds } = this.options;
    if (cacheTtlSeconds > 0) {
      const hit = await cache.get(key);
      if (hit) {
        this.stats.cacheHits += 1;
        this.counted(request.agent.id, 'cache');
        return { ...hit, degraded: false, cached: true, toolRounds: 0, toolCalls: hit.toolCalls ?? [] };
      }
    }
    const outcome = await this.produce(request);
    if (this.cacheable(outcome)) {
      await cache.set(key, cachedOf(outcome), cacheTtlSeconds);
    }
    return outcome;
  }

  /** The knowledge search, the chat request, the tool session and how to finish an outcome, shared by both paths. */
  private async start(request: Prepared) {
    const { tools, primary } = this.options;
    const knowledge = await this.search(request.agent.id, request.question);
    const modelPath = primary.kind !== 'OFFLINE' && this.options.resilience !== undefined;
    const personal = modelPath ? (tools?.summary(request.personalContext) ?? null) : null;
    const { personalContext: _personalContext, caller: _caller, allowHandOff: _allowHandOff, ...rest } = request;
    const chat: ChatRequest = { ...rest, knowledge, personal };
    const session = tools?.session(request.agent.id, request.caller, request.personalContext, modelPath ? 'model' : 'offline');
    const found = knowledge.hits.map(({ kind, key }) => ({ kind, key }));
    const finish = (text: string, provider: ChatProvider['kind'], degraded: boolean, summaryGiven: boolean): ReplyOutcome => ({
      text,
      provider,
      degraded: degraded || !knowledge.reachable,
      citations: tools ? tools.citations(found, session, request.personalContext, summaryGiven) : found,
      cached: false,
      handOff: session?.handOff,
      toolRounds: session?.rounds ?? 0,
      toolCalls: [...(session?.toolCalls ?? [])],
      shareable: !session?.sideEffects,
      producedFor: request.caller?.messageKey,
    });
    return { chat, session, finish, summaryGiven: personal !== null };
  }

  /** The offline rules' tools for a reply the offline responder gives (not again when the model's tools already ran). */
  private async offlineChat(chat: ChatRequest, request: Prepared, session: ToolSession | undefined): Promise<ChatRequest> {
    const ran = session && session.outcomes.length > 0 ? session.outcomes : ((await this.options.tools?.offline(request.question, session, request.allowHandOff)) ?? []);
    // Nothing personal is "for a model" here: the offline responder renders tool results itself.
    return { ...chat, personal: null, ...(ran.length > 0 ? { toolResults: [...ran], timeZone: session?.caller.timeZone } : {}) };
  }

  private async produce(request: Prepared): Promise<ReplyOutcome> {
    const { primary, offline, resilience, log } = this.options;
    const deadlineMs = this.options.deadlineMs ?? DEFAULT_REPLY_DEADLINE_MS;
    const deadline = deadlineMs > 0 ? Date.now() + deadlineMs : undefined;
    this.stats.produced += 1;
    const { chat, session, finish, summaryGiven } = await this.start(request);
    if (primary.kind === 'OFFLINE' || !resilience) {
      const text = await primary.reply(await this.offlineChat(chat, request, session), AbortSignal.timeout(10_000));
      this.counted(request.agent.id, 'model');
      return finish(text, primary.kind, false, false);
    }
    try {
      const ask = (turnRequest: ChatRequest) => resilience.call((signal) => turnOf(primary, turnRequest, signal), { deadline });
      const text = this.options.tools
        ? await this.options.tools.modelLoop(chat, session, request.allowHandOff, ask)
        : await resilience.call((signal) => primary.reply(chat, signal), { deadline });
      this.counted(request.agent.id, 'model');
      return finish(text, primary.kind, false, summaryGiven);
    } catch (error) {
      this.stats.fallbacks += 1;
      log.warn({ err: error, provider: primary.kind, breaker: resilience.state }, 'model provider failed: the offline responder answers instead');
      const text = await offline.reply({ ...(await this.offlineChat(chat, request, session)), standIn: true }, AbortSignal.timeout(10_000));
      this.counted(request.agent.id, 'fallback');
      return finish(text, offline.kind, true, false);
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
  async stream(request: ReplyRequest, onPiece: (text: string) => void, signal: AbortSignal): Promise<StreamedOutcome> {
    const urgent = urgentReply(request);
    if (urgent) {
      onPiece(urgent.text);
      return { ...urgent, remember: async () => {} };
    }
    const { primary, offline, resilience, cache, log } = this.options;
    const prepared = await this.prepare(request);
    const key = this.keyOf(prepared);
    const keep = (outcome: ReplyOutcome): StreamedOutcome => ({
      ...outcome,
      remember: async () => {
        if (this.cacheable(outcome)) await cache.set(key, cachedOf(outcome), this.options.cacheTtlSeconds);
      },
    });
    if (this.options.cacheTtlSeconds > 0) {
      const hit = await cache.get(key);
      if (hit) {
        this.stats.cacheHits += 1;
        this.counted(prepared.agent.id, 'cache');
        return keep({ ...hit, degraded: false, cached: true, toolRounds: 0, toolCalls: hit.toolCalls ?? [] });
      }
    }
    const deadlineMs = this.options.deadlineMs ?? DEFAULT_REPLY_DEADLINE_MS;
    const deadline = deadlineMs > 0 ? Date.now() + deadlineMs : undefined;
    this.stats.produced += 1;
    const { chat, session, finish, summaryGiven } = await this.start(prepared);
    let text = '';
    const emit = (piece: string) => {
      text += piece;
      onPiece(piece);
    };
    if (primary.kind === 'OFFLINE' || !resilience) {
      await providerPieces(primary, await this.offlineChat(chat, prepared, session), this.limits(signal), emit);
      this.counted(prepared.agent.id, 'model');
      return keep(finish(text, primary.kind, false, false));
    }
    try {
      // Each round of the tool loop is an attempt of its own (retried before its first piece, within the deadline).
      const limits = { outer: signal, idleMs: this.options.streamIdleMs ?? 20_000, maxMs: this.options.streamMaxMs ?? 120_000 };
      const ask = (turnRequest: ChatRequest) =>
        resilience.call((attempt) => modelStreamAttempt(primary, turnRequest, { ...limits, attempt }, emit, text !== ''), { deadline, hedge: false });
      if (this.options.tools) await this.options.tools.modelLoop(chat, session, prepared.allowHandOff, ask);
      else await ask(chat);
      this.counted(prepared.agent.id, 'model');
      return keep(finish(text, primary.kind, false, summaryGiven));
    } catch (error) {
      signal.throwIfAborted();
      this.stats.fallbacks += 1;
      const began = text !== '';
      log.warn(
        { err: error, provider: primary.kind, breaker: resilience.state, began },
        began ? 'model provider failed mid-stream: the offline responder continues the reply' : 'model provider failed: the offline responder answers instead',
      );
      if (began) emit(CONTINUED_OFFLINE);
      const standIn = await this.offlineChat(chat, prepared, session);
      // Continuing, the note above says what happened; answering instead, the stand-in line does.
      await providerPieces(offline, began ? standIn : { ...standIn, standIn: true }, this.limits(signal), emit);
      this.counted(prepared.agent.id, 'fallback');
      return keep(finish(text, offline.kind, true, false));
    }
  }

  /** The streamed reply's whole-stream limit over `signal`. */
  private limits(signal: AbortSignal): AbortSignal {
    return AbortSignal.any([signal, AbortSignal.timeout(this.options.streamMaxMs ?? 120_000)]);
  }

  private search(agentId: string, question: string): Promise<Knowledge> {
    const analysis = analyse(question);
    return this.options.knowledge.search(analysis.terms, personaOf(agentId).prefers, { question: analysis.question });
  }
}

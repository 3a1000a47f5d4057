import type { Logger } from '@suoke/platform';
import type { CitationRef } from '../../db/schema.js';
import { ProviderError, type ChatRequest, type ModelTurn, type ToolOutcome, type TranscriptEntry } from '../../providers/types.js';
import { ALL_SCOPES, type AgentAccessScope, type PersonalContext, type ToolDeps } from './deps.js';
import { toolRunner } from './handlers.js';
import { offlineCalls, offlineFollowUp } from './offline-rules.js';
import { toolSpecs, toolsFor, type ToolName } from './registry.js';
import { ToolSession, type ToolRunner } from './runner.js';
import { DEFAULT_TIME_ZONE } from './zone.js';

/** Who a reply is for: set by sendMessage from the verified caller, never by a model. */
export interface ReplyCaller {
  userId: string;
  /** The user's message id: what makes the tools' effects idempotent across retries of the same reply. */
  messageKey: string;
  /** IANA zone for reminders and times; default DEFAULT_TIME_ZONE. */
  timeZone?: string | null | undefined;
}

export { DEFAULT_TIME_ZONE };

export interface ReplyToolsOptions {
  deps: ToolDeps;
  /** AGENT_MAX_TOOL_ROUNDS: rounds of tool calls a model may make in one reply before it must answer. */
  maxRounds: number;
  log: Logger;
  /** How long loading the personal context may take before the reply goes on without it. Default 3 s. */
  personalTimeoutMs?: number;
}

/**
 * The tools and the personal context in the reply pipeline (service/replies.ts): loading what the user granted,
 * what of it a model may read, the model's tool loop (bounded), the offline rules' calls, and the citations of
 * what a reply used.
 */
export class ReplyTools {
  readonly runner: ToolRunner;
  readonly stats = { toolRounds: 0, toolCalls: 0, personalLoads: 0, personalFailures: 0 };

  constructor(private readonly options: ReplyToolsOptions) {
    this.runner = toolRunner(options.deps, options.log);
  }

  /** The user's granted context, or null (nothing granted, no source, or the source failed: then nothing personal). */
  async personal(caller: ReplyCaller | undefined): Promise<PersonalContext | null> {
    const source = this.options.deps.personal?.source;
    if (!caller || !source) return null;
    this.stats.personalLoads += 1;
    try {
      return await source.load(caller.userId, ALL_SCOPES, AbortSignal.timeout(this.options.personalTimeoutMs ?? 3_000));
    } catch (error) {
      this.stats.personalFailures += 1;
      this.options.log.warn({ err: error }, 'personal context could not be loaded: replying without it');
      return null;
    }
  }

  /** Whether anything personal may reach a model provider (AGENT_PROVIDER_PHI is not `off`). */
  sendsPersonal(): boolean {
    return this.options.deps.personal !== undefined && this.options.deps.personal.mode !== 'off';
  }

  /** What a model may read about the person (AGENT_PROVIDER_PHI), or null. */
  summary(personal: PersonalContext | null): string | null {
    const data = this.options.deps.personal;
    return personal && data ? data.summarise(personal, data.mode) : null;
  }

  session(agentId: string, caller: ReplyCaller | undefined, personal: PersonalContext | null, audience: 'model' | 'offline'): ToolSession | undefined {
    if (!caller) return undefined;
    return new ToolSession({ userId: caller.userId, agentId, messageKey: caller.messageKey, timeZone: caller.timeZone || DEFAULT_TIME_ZONE, personal }, audience);
  }

  /** Tools a reader may use: the offline responder sends nothing out, so AGENT_PROVIDER_PHI=off does not bar it. */
  offered(agentId: string, audience: 'model' | 'offline', allowHandOff = true): ToolName[] {
    const deps = this.options.deps;
    const names = toolsFor(agentId, audience === 'offline' && deps.personal ? { ...deps, personal: { ...deps.personal, mode: 'summary' } } : deps);
    return allowHandOff ? names : names.filter((name) => name !== 'hand_off');
  }

  /** The offline rules' calls for the question, run (a follow-up round when the first asks for one), within maxRounds. */
  async offline(question: string, session: ToolSession | undefined, allowHandOff: boolean): Promise<ToolOutcome[]> {
    if (!session) return [];
    session.audience = 'offline';
    const offered = this.offered(session.caller.agentId, 'offline', allowHandOff);
    let calls = offlineCalls(question, session.caller.agentId, offered, session.caller.timeZone);
    const signal = AbortSignal.timeout(10_000);
    while (calls.length > 0 && session.rounds < Math.max(2, this.options.maxRounds)) {
      session.rounds += 1;
      this.count(calls.length);
      await this.runner.run(calls, offered, session, signal);
      calls = offlineFollowUp(question, session.outcomes);
    }
    return session.outcomes;
  }

  /**
   * A model's reply with tools: each round `ask` gets the transcript so far; calls are run and their results replayed,
   * until the model answers with text. After maxRounds rounds of calls it is asked once more with tool_choice `none`;
   * calls it still makes are not run, and an answer without text then fails like a provider that gave no message.
   */
  async modelLoop(chat: ChatRequest, session: ToolSession | undefined, allowHandOff: boolean, ask: (request: ChatRequest) => Promise<ModelTurn>): Promise<string> {
    const offered = session ? this.offered(chat.agent.id, 'model', allowHandOff) : [];
    if (!session || offered.length === 0 || this.options.maxRounds === 0) {
      const turn = await ask(chat);
      if (turn.text === '') throw new ProviderError('the model provider answered with tool calls where none were offered', { transient: false });
      return turn.text;
    }
    const tools = toolSpecs(offered);
    const transcript: TranscriptEntry[] = [];
    const signal = AbortSignal.timeout(30_000);
    for (let round = 0; ; round += 1) {
      const last = round >= this.options.maxRounds;
      const turn = await ask({ ...chat, tools, toolChoice: last ? 'none' : 'auto', transcript });
      if (turn.toolCalls.length === 0 || last) {
        if (turn.text === '') throw new ProviderError(`the model provider kept calling tools after ${round} rounds and gave no answer`, { transient: false });
        return turn.text;
      }
      session.rounds += 1;
      this.count(turn.toolCalls.length);
      const outcomes = await this.runner.run(turn.toolCalls, offered, session, signal);
      transcript.push({ text: turn.text, calls: turn.toolCalls, outcomes });
    }
  }

  /**
   * A reply's citations: the knowledge found for the question, what the tools found, and the personal items used —
   * those a tool read, and, when the model was given the summary, everything in it.
   */
  citations(found: readonly CitationRef[], session: ToolSession | undefined, personal: PersonalContext | null, summaryGiven: boolean): CitationRef[] {
    const all = [...found];
    const add = (ref: CitationRef) => {
      if (!all.some((c) => c.kind === ref.kind && c.key === ref.key)) all.push(ref);
    };
    session?.citations.forEach(add);
    const data = this.options.deps.personal;
    if (personal && data) {
      const used = new Set<AgentAccessScope>(session?.usedScopes ?? []);
      if (summaryGiven) {
        if (personal.healthSummary) used.add('HEALTH_SUMMARY');
        if (personal.healthProfile) used.add('HEALTH_PROFILE');
        if (personal.latestReport) used.add('REPORTS');
      }
      const scopes = [...used].filter((scope) => personal.scopes.includes(scope));
      if (scopes.length > 0) data.cite(personal, scopes).forEach(add);
    }
    return all;
  }

  private count(calls: number): void {
    this.stats.toolRounds += 1;
    this.stats.toolCalls += calls;
  }
}

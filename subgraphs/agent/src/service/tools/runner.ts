import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { z, type Logger } from '@suoke/platform';
import type { CitationRef, StoredToolCall } from '../../db/schema.js';
import type { ToolCall, ToolOutcome } from '../../providers/types.js';
import type { AgentAccessScope, OpenSlot, PersonalContext, ToolDeps } from './deps.js';
import { toolCallRecord } from './record.js';
import { isToolName, TOOL_ARGUMENTS, TOOL_SCOPES, type ToolArguments, type ToolName } from './registry.js';

/** Calls of one round past this many are answered with an error each, not run. */
export const MAX_CALLS_PER_ROUND = 6;

/** Per reply: how often each tool may run (a model in a loop cannot book ten slots or set fifty reminders). */
const PER_REPLY: Record<ToolName, number> = {
  search_knowledge: 3,
  get_health_summary: 2,
  get_latest_report: 2,
  create_reminder: 2,
  book_appointment: 4,
  hand_off: 1,
};
const BOOKINGS_PER_REPLY = 1;

/**
 * What the tools of one reply know and did. The caller's id, the personal context and the time zone come from the
 * request, never from the model; what the model may name (slots, practitioners) it must have been shown in this reply.
 */
export class ToolSession {
  readonly seenSlots = new Map<string, OpenSlot>();
  readonly usedScopes = new Set<AgentAccessScope>();
  /** Knowledge the tools found: cited by the reply. */
  readonly citations: CitationRef[] = [];
  /** A tool changed something (a reminder, a booking, a hand-off): the reply is neither cached nor shared. */
  sideEffects = false;
  handOff: { agentId: string; question: string } | undefined;
  /** Tool rounds the model used (the offline rules count as one). */
  rounds = 0;
  readonly outcomes: ToolOutcome[] = [];
  /** `outcomes` as the user reads them (`Message.toolCalls`), in the same order, each with its round. */
  readonly toolCalls: StoredToolCall[] = [];
  private readonly runs = new Map<ToolName, number>();
  private bookings = 0;

  constructor(
    readonly caller: {
      userId: string;
      agentId: string;
      /** Stable for the user's message across retries: the idempotency key of the tools' effects. */
      messageKey: string;
      timeZone: string;
      personal: PersonalContext | null;
    },
    /** Who reads the results: personal results for a model are summaries under AGENT_PROVIDER_PHI. */
    public audience: 'model' | 'offline',
  ) {}

  count(name: ToolName): number {
    const n = (this.runs.get(name) ?? 0) + 1;
    this.runs.set(name, n);
    return n;
  }

  book(): boolean {
    if (this.bookings >= BOOKINGS_PER_REPLY) return false;
    this.bookings += 1;
    return true;
  }

  /** A booking that failed (the slot was taken) does not use up the reply's booking. */
  unbook(): void {
    this.bookings -= 1;
  }

  /** The idempotency key of an effect: the message and the effect's own arguments, so a retried round repeats nothing. */
  clientKey(name: ToolName, args: unknown): string {
    const digest = createHash('sha256').update(JSON.stringify([this.caller.messageKey, name, args])).digest('base64url').slice(0, 32);
    return `agent-tool:${digest}`;
  }
}

/** An error result the model reads (and may recover from), with a stable code. */
export class ToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

type Handler<N extends ToolName> = (args: ToolArguments[N], session: ToolSession, deps: ToolDeps, signal: AbortSignal) => Promise<Record<string, unknown>>;

/**
 * Runs tool calls: parses and validates each call's arguments, checks consent and the per-reply limits, executes
 * it, and turns every failure (malformed JSON, invalid arguments, an unknown or unoffered tool, a refusal, a failing
 * dependency) into an error result the model sees. Never throws for a call; calls run one after another, in order.
 */
export class ToolRunner {
  constructor(
    private readonly deps: ToolDeps,
    private readonly handlers: { [N in ToolName]: Handler<N> },
    private readonly log: Logger,
  ) {}

  async run(calls: readonly ToolCall[], offered: readonly ToolName[], session: ToolSession, signal: AbortSignal): Promise<ToolOutcome[]> {
    const outcomes: ToolOutcome[] = [];
    for (const [i, call] of calls.entries()) {
      const outcome =
        i >= MAX_CALLS_PER_ROUND
          ? failed(call, 'TOO_MANY_CALLS', `at most ${MAX_CALLS_PER_ROUND} tool calls are run per round; this one was not run`)
          : await this.one(call, offered, session, signal);
      outcomes.push(outcome);
      session.outcomes.push(outcome);
      const record = toolCallRecord(outcome, Math.max(1, session.rounds), session.caller.timeZone);
      if (record) session.toolCalls.push(record);
    }
    return outcomes;
  }

  /** One tool with its own arguments: generic in the name, so that handler and arguments are of the same tool. */
  private invoke<N extends ToolName>(name: N, args: ToolArguments[N], session: ToolSession, signal: AbortSignal): Promise<Record<string, unknown>> {
    const handler: Handler<N> = this.handlers[name];
    return handler(args, session, this.deps, signal);
  }

  private async one(call: ToolCall, offered: readonly ToolName[], session: ToolSession, signal: AbortSignal): Promise<ToolOutcome> {
    const name = call.name;
    if (!isToolName(name) || !offered.includes(name)) {
      return failed(call, 'UNKNOWN_TOOL', `there is no tool named ${JSON.stringify(name)} here; the tools are: ${offered.join(', ')}`);
    }
    let raw: unknown;
    try {
      raw = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch {
      return failed(call, 'MALFORMED_ARGUMENTS', `the arguments of ${name} must be a JSON object; received text that is not JSON`);
    }
    const parsed = parseArguments(name, raw);
    if (!parsed.success) return failed(call, 'INVALID_ARGUMENTS', `the arguments of ${name} do not match its schema: ${z.prettifyError(parsed.error)}`);
    if (session.count(name) > PER_REPLY[name]) return failed(call, 'LIMIT_REACHED', `${name} may run at most ${PER_REPLY[name]} times per reply`);
    const scope = TOOL_SCOPES[name];
    if (scope && !session.caller.personal?.scopes.includes(scope)) {
      return failed(call, 'CONSENT_REQUIRED', `the user has not granted access to ${scope}; they can grant it in the app's privacy settings`);
    }
    try {
      return { call, ok: true, result: { ok: true, ...(await this.invoke(name, parsed.data, session, signal)) } };
    } catch (error) {
      if (error instanceof ToolError) return failed(call, error.code, error.message);
      const code = error instanceof GraphQLError ? error.extensions?.code : undefined;
      // A dependency's stable refusal (CONFLICT, BAD_USER_INPUT…) is for the model; anything else stays in the log.
      if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return failed(call, code, (error as Error).message);
      this.log.warn({ err: error, tool: name }, 'tool failed');
      return failed(call, 'TOOL_FAILED', `${name} failed; say so and do not retry it in this reply`);
    }
  }
}

function failed(call: ToolCall, code: string, message: string): ToolOutcome {
  return { call, ok: false, result: { ok: false, error: { code, message } } };
}

/** The schemas as a map over the names (checked here per tool), so that indexing it by a generic name keeps the tool's type. */
const ARGUMENT_SCHEMAS: { [N in ToolName]: z.ZodType<ToolArguments[N]> } = TOOL_ARGUMENTS;

/** A tool's arguments checked by its schema, typed as that tool's. */
function parseArguments<N extends ToolName>(name: N, raw: unknown): z.ZodSafeParseResult<ToolArguments[N]> {
  return ARGUMENT_SCHEMAS[name].safeParse(raw);
}

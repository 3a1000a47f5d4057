import { badInput, type Database, type Logger } from '@suoke/platform';
import { storeReply, storeUserMessage } from '../db/conversations.js';
import { knowledgeRef, type AgentRow, type CitationEntityRef, type ConversationRow, type MessageRow } from '../db/schema.js';
import { agentKey } from '../loaders.js';
import type { ReplyService } from './replies.js';
import type { StreamingReplies } from './streams.js';
import { handOff } from './tools/handoff.js';
import { DEFAULT_TIME_ZONE, isTimeZone } from './tools/zone.js';

/** The longest message accepted, in characters (Unicode code points) after trimming. */
export const MAX_TEXT_CHARS = 2000;

export interface SendMessageInput {
  agentId: string;
  text: string;
  conversationId?: string | null | undefined;
  stream?: boolean | null | undefined;
  timeZone?: string | null | undefined;
}

/** What `sendMessage` resolves from. */
export interface SendMessageResult {
  conversation: ConversationRow;
  message: MessageRow;
  reply: MessageRow;
  citations: CitationEntityRef[];
}

/** The trimmed text, or BAD_USER_INPUT naming `input.text` and what was received. */
export function checkText(text: string): string {
  const trimmed = text.trim();
  const length = [...trimmed].length;
  if (length === 0) throw badInput('text must contain 1–2000 characters after trimming; received an empty text', 'input.text');
  if (length > MAX_TEXT_CHARS) throw badInput(`text must contain 1–2000 characters after trimming; received ${length}`, 'input.text');
  return trimmed;
}

/** The IANA zone given, or the default; BAD_USER_INPUT naming `input.timeZone` for one this runtime does not know. */
export function checkTimeZone(timeZone: string | null | undefined): string {
  if (timeZone === null || timeZone === undefined) return DEFAULT_TIME_ZONE;
  const zone = timeZone.trim();
  if (zone === '' || zone.length > 64 || !isTimeZone(zone)) {
    throw badInput(`timeZone must be an IANA time zone such as "Asia/Shanghai"; received ${JSON.stringify(timeZone.slice(0, 80))}`, 'input.timeZone');
  }
  return zone;
}

export function checkAgent(agents: readonly AgentRow[], agentId: string): AgentRow {
  const agent = agents.find((a) => a.id === agentKey(agentId));
  if (!agent) throw badInput(`agentId must be one of ${agents.map((a) => a.id).join(', ')}; received ${JSON.stringify(agentId)}`, 'input.agentId');
  return agent;
}

/**
 * A turn of a conversation: the input is checked, the user's message is
 * committed (starting the conversation if needed), and only then is the agent
 * asked, so that a reply that fails leaves the message stored. The reply is
 * stored with its citations. The agent's tools act for the verified caller
 * (never for a user the model names), keyed by the user's message for
 * idempotency; a reply that handed the question off opens the receiving
 * agent's conversation before it is returned.
 */
export async function sendMessage(
  deps: { database: Database; replies: ReplyService; streams: StreamingReplies; agents: () => Promise<AgentRow[]>; historyTurns: number; log: Logger },
  userId: string,
  input: SendMessageInput,
): Promise<SendMessageResult> {
  const text = checkText(input.text);
  const agent = checkAgent(await deps.agents(), input.agentId);
  const timeZone = checkTimeZone(input.timeZone);
  const stored = await storeUserMessage(deps.database, {
    userId,
    agentId: agent.id,
    text,
    conversationId: input.conversationId,
    historyTurns: deps.historyTurns,
    pendingReply: input.stream === true,
  });
  if (stored.reply) {
    // Streamed: the reply row is committed STREAMING with the message; it is written in the background from here on.
    deps.streams.start({ replyId: stored.reply.id, agent, question: text, history: stored.history, caller: { userId, messageKey: stored.message.id, timeZone } });
    return { conversation: stored.conversation, message: stored.message, reply: stored.reply, citations: [] };
  }
  const caller = { userId, messageKey: stored.message.id, timeZone };
  const outcome = await deps.replies.reply({ agent, question: text, history: stored.history, caller });
  const saved = await storeReply(deps.database, stored.conversation.id, {
    text: outcome.text,
    degraded: outcome.degraded,
    provider: outcome.provider,
    citations: outcome.citations,
    toolCalls: outcome.toolCalls,
  });
  let reply = saved.message;
  if (outcome.handOff) {
    const context = [...stored.history, { role: 'USER' as const, text }];
    reply = (await handOff(deps, { caller, fromMessageId: reply.id, ...outcome.handOff, context })) ?? reply;
  }
  return { conversation: saved.conversation, message: stored.message, reply, citations: outcome.citations.map(knowledgeRef) };
}

import { sql } from 'drizzle-orm';
import { subscribeOverSse } from '@suoke/platform/testing';
import { expect } from 'vitest';
import type { Agent, Caller } from './harness.js';

// Sending messages and reading replies for the tools' tests: without `citations` in the selection (personal citation
// kinds resolve once the consent part is merged), which are read from the database instead.

const TOOL_CALLS = /* GraphQL */ `toolCalls { name round outcome code summary }`;
const REPLY = /* GraphQL */ `id text status degraded provider ${TOOL_CALLS} handedOffTo { id agent { id } messages(first: 10) { edges { node { role text provider ${TOOL_CALLS} } } } }`;

/** One of `Message.toolCalls`. */
export interface ToolCallView {
  name: string;
  round: number;
  outcome: 'OK' | 'REFUSED' | 'FAILED';
  code: string | null;
  summary: string;
}

export interface ToolReply {
  id: string;
  text: string;
  status: string;
  degraded: boolean;
  provider: string | null;
  toolCalls: ToolCallView[];
  handedOffTo: {
    id: string;
    agent: { id: string };
    messages: { edges: Array<{ node: { role: string; text: string; provider: string | null; toolCalls: ToolCallView[] } }> };
  } | null;
}

export async function ask(agent: Agent, caller: Caller, input: { agentId: string; text: string; stream?: boolean; timeZone?: string; conversationId?: string }) {
  const result = await agent.gql<{ sendMessage: { conversation: { id: string }; message: { id: string }; reply: ToolReply } }>(
    `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { conversation { id } message { id } reply { ${REPLY} } } }`,
    { input },
    caller,
  );
  expect(result.errors).toBeUndefined();
  return result.data!.sendMessage;
}

/** A streamed reply followed to its final event, which carries the stored message. */
export async function askStreamed(agent: Agent, caller: Caller, input: { agentId: string; text: string; timeZone?: string }) {
  const sent = await ask(agent, caller, { ...input, stream: true });
  const stream = subscribeOverSse<{ messageStream: { delta: string; done: boolean; message: ToolReply | null } }>(
    agent.url,
    `subscription ($id: ID!) { messageStream(messageId: $id) { delta done message { ${REPLY} } } }`,
    { id: sent.reply.id },
    { caller },
  );
  let text = '';
  for (;;) {
    const event = await stream.next(15_000);
    if (!event) throw new Error('the stream ended without a final event');
    expect(event.errors).toBeUndefined();
    const value = event.data!.messageStream;
    text += value.delta;
    if (value.done) {
      await stream.return?.();
      return { sent, streamedText: text, reply: value.message! };
    }
  }
}

/** A message's stored citations, as the reply pipeline wrote them. */
export async function storedCitations(agent: Agent, messageId: string): Promise<Array<{ kind: string; key: string }>> {
  const rows = await agent.database.rows<{ citations: Array<{ kind: string; key: string }> | string }>(sql`select citations from "agent".messages where id = ${messageId}`);
  const raw = rows[0]!.citations;
  return typeof raw === 'string' ? JSON.parse(raw) : raw;
}

/**
 * A conversation's messages, newest first, with their tool calls, read back through `Conversation.messages` (the
 * batched page statement, not the row the mutation returned), and the SQL statements that read took.
 */
export async function readToolCalls(agent: Agent, caller: Caller, conversationId: string, withToolCalls = true) {
  const { result, statements } = await agent.countStatements(() =>
    agent.gql<{ conversation: { messages: { edges: Array<{ node: { id: string; role: string; toolCalls?: ToolCallView[] } }> } } }>(
      `query ($id: ID!) { conversation(id: $id) { messages(first: 20) { edges { node { id role ${withToolCalls ? TOOL_CALLS : ''} } } } } }`,
      { id: conversationId },
      caller,
    ),
  );
  expect(result.errors).toBeUndefined();
  return { messages: result.data!.conversation.messages.edges.map((e) => e.node), statements };
}

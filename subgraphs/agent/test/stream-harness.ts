import { subscribeOverSse, type TestSubscription } from '@suoke/platform/testing';
import { expect } from 'vitest';
import type { Agent, Caller } from './harness.js';

/** The reply's fields a streaming client reads. */
export const STREAM_MESSAGE = /* GraphQL */ `
  id role text status statusReason degraded provider createdAt
  citations { __typename ... on Constitution { code } ... on Herb { id } ... on Article { id } ... on Acupoint { code } ... on Syndrome { code } }
`;

export const SEND_STREAMED = /* GraphQL */ `
  mutation ($input: SendMessageInput!) {
    sendMessage(input: $input) { conversation { id } message { id status text } reply { ${STREAM_MESSAGE} } citations { __typename } }
  }
`;

export const MESSAGE_STREAM = /* GraphQL */ `
  subscription ($id: ID!) { messageStream(messageId: $id) { messageId delta done message { ${STREAM_MESSAGE} } } }
`;

export interface StreamMessage {
  id: string;
  role: string;
  text: string;
  status: 'STREAMING' | 'COMPLETE' | 'FAILED';
  statusReason: string | null;
  degraded: boolean;
  provider: string | null;
  citations: Array<Record<string, string>>;
}

export interface StreamEvent {
  messageId: string;
  delta: string;
  done: boolean;
  message: StreamMessage | null;
}

/** Sends a streamed message that must be accepted, and returns what the mutation answered. */
export async function sendStreamed(agent: Agent, caller: Caller, input: { agentId: string; text: string; conversationId?: string }) {
  const result = await agent.gql<{ sendMessage: { conversation: { id: string }; message: { id: string; status: string; text: string }; reply: StreamMessage; citations: unknown[] } }>(
    SEND_STREAMED,
    { input: { ...input, stream: true } },
    caller,
  );
  expect(result.errors).toBeUndefined();
  return result.data!.sendMessage;
}

/** `messageStream` over the subgraph's graphql-sse endpoint, as the gateway opens it. */
export function follow(agent: { url: string }, caller: Caller, messageId: string): TestSubscription<{ messageStream: StreamEvent }> {
  return subscribeOverSse<{ messageStream: StreamEvent }>(agent.url, MESSAGE_STREAM, { id: messageId }, { caller });
}

/** Every event until the stream completes (each must be free of errors), with when it arrived. */
export async function drain(stream: TestSubscription<{ messageStream: StreamEvent }>, timeoutMs = 15_000): Promise<Array<StreamEvent & { at: number }>> {
  const events: Array<StreamEvent & { at: number }> = [];
  for (;;) {
    const result = await stream.next(timeoutMs);
    if (!result) return events;
    expect(result.errors).toBeUndefined();
    events.push({ ...result.data!.messageStream, at: performance.now() });
  }
}

/** Checks the shape every complete stream has: deltas, then exactly one final event that carries the message, last. */
export function expectWellFormed(events: StreamEvent[], messageId: string): StreamMessage {
  expect(events.length).toBeGreaterThan(0);
  const final = events.at(-1)!;
  expect(final).toMatchObject({ messageId, done: true, delta: '' });
  expect(final.message).not.toBeNull();
  for (const event of events.slice(0, -1)) {
    expect(event).toMatchObject({ messageId, done: false, message: null });
    expect(event.delta).not.toBe('');
  }
  return final.message!;
}

export async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

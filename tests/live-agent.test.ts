import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startStack, type Stack } from './harness.js';
import { subscribe, waitFor, type Payload } from './live-harness.js';

// A streamed reply end to end: the client sends `sendMessage(input: { stream: true })` through the gateway and
// follows `messageStream` over graphql-ws; the gateway holds the stream on the agent subgraph over graphql-sse and
// completes each event's plan, so the final event's citations are resolved by the knowledge subgraph. The agent
// answers with the offline responder, which searches the knowledge base back through the gateway and streams its
// reply in paced chunks.

const SEND = /* GraphQL */ `
  mutation ($input: SendMessageInput!) {
    sendMessage(input: $input) { conversation { id } message { id status } reply { id status text provider citations { __typename } } citations { __typename } }
  }
`;
const STREAM = /* GraphQL */ `
  subscription ($id: ID!) {
    messageStream(messageId: $id) {
      messageId delta done
      message {
        id status text provider degraded
        citations { __typename ... on Constitution { code name } ... on Article { id title } ... on Herb { id name } ... on Acupoint { code name } ... on Syndrome { code name } }
      }
    }
  }
`;
const CONVERSATION = 'query ($id: ID!) { conversation(id: $id) { messages(first: 10) { edges { node { id role status text } } } } }';

interface Event {
  messageId: string;
  delta: string;
  done: boolean;
  message: { id: string; status: string; text: string; provider: string; degraded: boolean; citations: Array<Record<string, string>> } | null;
}

describe('streamed agent replies through the gateway', () => {
  let stack: Stack;
  const clients: Client[] = [];
  beforeAll(async () => {
    // A paced offline stream (~40 pieces, 40 ms apart), its text written every 50 ms; with REDIS_URL, a reply cache
    // of its own (a reply cached by another run or test would end at once, with no deltas).
    stack = await startStack({
      subgraphEnv: { OFFLINE_STREAM_PACE_MS: '40', OFFLINE_STREAM_CHUNK_CHARS: '6', STREAM_PERSIST_MS: '50', REPLY_CACHE_PREFIX: `suoke:test:${randomUUID()}:` },
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await stack?.stop();
  });

  const signUp = async () => {
    const answer = await stack.query<{ register: { accessToken: string } }>('mutation ($input: RegisterInput!) { register(input: $input) { accessToken } }', {
      input: { email: `stream-${randomUUID()}@example.com`, password: 'correct-horse-battery-staple', displayName: 'Stream' },
    });
    expect(codes(answer)).toEqual([]);
    return answer.data!.register.accessToken;
  };
  const connect = (token: string) => {
    const client = createClient({ url: stack.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    clients.push(client);
    return client;
  };
  const send = async (token: string, text: string) => {
    const answer = await stack.query<any>(SEND, { input: { agentId: 'xiaoai', text, stream: true } }, token);
    expect(codes(answer), JSON.stringify(answer.errors)).toEqual([]);
    return answer.data!.sendMessage as { conversation: { id: string }; message: { id: string; status: string }; reply: { id: string; status: string; text: string; provider: string | null; citations: unknown[] }; citations: unknown[] };
  };
  const events = (received: Payload[]) => received.map((p) => p.data?.messageStream as Event);

  it('sendMessage(stream: true) returns the reply STREAMING; messageStream gives deltas, then the final event with citations resolved by knowledge', async () => {
    const token = await signUp();
    const sent = await send(token, '我最近总是疲劳乏力，是气虚吗？');
    expect(sent.message.status).toBe('COMPLETE');
    expect(sent.reply).toEqual({ id: sent.reply.id, status: 'STREAMING', text: '', provider: null, citations: [] });
    expect(sent.citations).toEqual([]);
    const sub = subscribe(connect(token), STREAM, { id: sent.reply.id });
    await waitFor(() => sub.ended(), 'the stream to complete', 20_000);
    expect(sub.state.error, JSON.stringify(sub.state.error)).toBeUndefined();
    expect(sub.received.flatMap((p) => p.errors ?? [])).toEqual([]);
    const got = events(sub.received);
    const final = got.at(-1)!;
    const deltas = got.slice(0, -1);
    // Several deltas, then one final event carrying the whole stored reply.
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.every((e) => !e.done && e.message === null && e.delta !== '' && e.messageId === sent.reply.id)).toBe(true);
    expect(final).toMatchObject({ messageId: sent.reply.id, done: true, delta: '' });
    expect(final.message).toMatchObject({ id: sent.reply.id, status: 'COMPLETE', provider: 'OFFLINE', degraded: false });
    expect(deltas.map((e) => e.delta).join('')).toBe(final.message!.text);
    // Citations come from the agent as references; their names and titles only the knowledge subgraph knows.
    expect(final.message!.citations.length).toBeGreaterThan(0);
    expect(final.message!.citations).toContainEqual({ __typename: 'Constitution', code: 'QI_DEFICIENT', name: '气虚质' });
    for (const citation of final.message!.citations) expect(typeof (citation.name ?? citation.title), JSON.stringify(citation)).toBe('string');
  });

  it('the same question again is answered from the reply cache: STREAMING at first, then the final event at once', async () => {
    const token = await signUp();
    const question = `气虚的人早餐吃什么？${randomUUID().slice(0, 8)}`;
    const first = await send(token, question);
    const firstSub = subscribe(connect(token), STREAM, { id: first.reply.id });
    await waitFor(() => firstSub.ended(), 'the first reply to complete', 20_000);
    const again = await send(token, question);
    expect(again.reply.status).toBe('STREAMING');
    const sub = subscribe(connect(token), STREAM, { id: again.reply.id });
    await waitFor(() => sub.ended(), 'the cached reply', 20_000);
    const got = events(sub.received);
    const text = events(firstSub.received).at(-1)!.message!.text;
    // At once: the final event alone when the reply was stored before the subscription opened, else (a subscriber
    // that came first) the whole text as one delta, then the final event; never pieces.
    expect(got.length).toBeLessThanOrEqual(2);
    expect(got.slice(0, -1).map((e) => e.delta).join('')).toBe(got.length === 2 ? text : '');
    expect(got.at(-1)).toMatchObject({ done: true, delta: '', message: { status: 'COMPLETE', text } });
  });

  it('a client that disconnects mid-stream still finds the complete reply in its conversation', async () => {
    const token = await signUp();
    const sent = await send(token, '晚上睡不好，气虚的人有什么作息建议？');
    const client = connect(token);
    const sub = subscribe(client, STREAM, { id: sent.reply.id });
    await waitFor(() => sub.received.length > 0, 'the first delta', 20_000);
    const first = events(sub.received)[0]!;
    expect(first.done).toBe(false);
    await client.dispose();
    let reply: { id: string; status: string; text: string } | undefined;
    for (let i = 0; i < 200 && reply?.status !== 'COMPLETE'; i += 1) {
      const answer = await stack.query<any>(CONVERSATION, { id: sent.conversation.id }, token);
      expect(codes(answer)).toEqual([]);
      reply = answer.data.conversation.messages.edges.map((e: any) => e.node).find((m: any) => m.id === sent.reply.id);
      if (reply?.status !== 'COMPLETE') await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reply?.status).toBe('COMPLETE');
    // More than the client saw before it left, continuing what it saw.
    expect(reply!.text.startsWith(first.delta)).toBe(true);
    expect(reply!.text.length).toBeGreaterThan(first.delta.length);
    expect(sub.ended()).toBe(true);
  });

  it("refuses to follow another user's reply with NOT_FOUND", async () => {
    const [owner, other] = [await signUp(), await signUp()];
    const sent = await send(owner, '你好');
    const sub = subscribe(connect(other), STREAM, { id: sent.reply.id });
    await waitFor(() => sub.ended(), 'the refusal');
    const refusal = [...sub.received.flatMap((p) => p.errors ?? []), ...((sub.state.error as Array<{ extensions?: { code?: string } }> | undefined) ?? [])];
    expect(refusal.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
  });
});

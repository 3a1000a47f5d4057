import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_GATEWAY_SECRET } from '@suoke/platform/testing';
import { loadAgentConfig } from '../src/config.js';
import { selectMessage } from '../src/db/conversations.js';
import { createAgentSubgraph, type AgentSubgraph } from '../src/server.js';
import { REASON_INTERRUPTED } from '../src/service/streams.js';
import { startFakeGateway, type FakeGateway } from './fakes.js';
import { messagesOf, sent, startAgent, type Agent } from './harness.js';
import { drain, expectWellFormed, follow, sendStreamed, until } from './stream-harness.js';

// Streamed replies of the offline responder over the subgraph's graphql-sse endpoint: the mutation returns at once
// with the reply STREAMING; `messageStream` gives deltas, then the final event with the stored message, then ends;
// late and mid-stream subscribers; ownership; a subscriber that leaves; a replica that stops mid-reply; and a
// subscriber held by another replica than the one writing (Redis pub/sub with REDIS_URL; see the last test).

let gateway: FakeGateway;
let agent: Agent;
const owner = { id: randomUUID() };
const stranger = { id: randomUUID() };
const ENV = { OFFLINE_STREAM_PACE_MS: '30', OFFLINE_STREAM_CHUNK_CHARS: '8', STREAM_PERSIST_MS: '60' };

beforeAll(async () => {
  gateway = await startFakeGateway();
  agent = await startAgent({ env: { GATEWAY_URL: gateway.url, ...ENV } });
});
afterAll(async () => {
  await agent?.close();
  await gateway?.close();
});

const topicListeners = (a: { subgraph: AgentSubgraph }, id: string) => a.subgraph.events.listenerCount(`agent:message:${id}`);

describe('sendMessage(stream: true) and messageStream', () => {
  it('returns at once with the reply STREAMING; the stream gives deltas, then the stored reply with its citations, then ends', async () => {
    const sentAt = performance.now();
    const send = await sendStreamed(agent, owner, { agentId: 'xiaoai', text: '我是气虚体质，平时吃什么好？' });
    const answeredIn = performance.now() - sentAt;
    expect(send.message.status).toBe('COMPLETE');
    expect(send.reply).toMatchObject({ role: 'AGENT', status: 'STREAMING', text: '', provider: null, citations: [], statusReason: null });
    expect(send.citations).toEqual([]);
    const events = await drain(follow(agent, owner, send.reply.id));
    const message = expectWellFormed(events, send.reply.id);
    // A real stream: several deltas that add up to the stored text, arriving over time, the first well before the end.
    const deltas = events.slice(0, -1);
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.map((e) => e.delta).join('')).toBe(message.text);
    expect(events.at(-1)!.at - events[0]!.at).toBeGreaterThan(answeredIn);
    expect(message).toMatchObject({ id: send.reply.id, status: 'COMPLETE', provider: 'OFFLINE', degraded: false, statusReason: null });
    expect(message.text).toContain('知识库中的相关内容');
    expect(message.citations).toEqual([
      { __typename: 'Constitution', code: 'QI_DEFICIENT' },
      { __typename: 'Article', id: 'qi-deficiency-care' },
    ]);
    // `conversation` shows the same stored reply; the subscription released its topic.
    const [reply, question] = await messagesOf(agent, owner, send.conversation.id);
    expect(reply).toMatchObject({ id: send.reply.id, text: message.text, provider: 'OFFLINE' });
    expect(question!.id).toBe(send.message.id);
    await until(() => topicListeners(agent, send.reply.id) === 0, 'the bus topic released');
  });

  it('a subscriber after completion gets the final event at once, then completion', async () => {
    const send = await sendStreamed(agent, owner, { agentId: 'soer', text: '最近睡眠不好怎么办' });
    await agent.subgraph.streams.settled();
    const events = await drain(follow(agent, owner, send.reply.id));
    expect(events).toHaveLength(1);
    const message = expectWellFormed(events, send.reply.id);
    expect(message.status).toBe('COMPLETE');
    expect(message.text.length).toBeGreaterThan(10);
    await until(() => topicListeners(agent, send.reply.id) === 0, 'the bus topic released');
  });

  it('a subscriber joining mid-stream gets the text so far first, then the rest: no gap, no duplicate', async () => {
    const send = await sendStreamed(agent, owner, { agentId: 'laoke', text: '黄芪有什么作用' });
    // Joins once some text is stored and the reply is still being written.
    await until(async () => ((await selectMessage(agent.database, send.reply.id))?.text.length ?? 0) > 0, 'some text stored');
    const stream = follow(agent, owner, send.reply.id);
    const events = await drain(stream);
    const message = expectWellFormed(events, send.reply.id);
    expect(message.status).toBe('COMPLETE');
    expect(events.length).toBeGreaterThanOrEqual(3);
    // The first event is a prefix holding the text so far, not a single piece; the deltas add up exactly.
    expect(message.text.startsWith(events[0]!.delta)).toBe(true);
    expect(events.slice(0, -1).map((e) => e.delta).join('')).toBe(message.text);
  });

  it("refuses anyone else's message with the same NOT_FOUND as an unknown one, holding no subscription", async () => {
    const send = await sendStreamed(agent, owner, { agentId: 'xiaoai', text: '你好' });
    const refusal = async (caller: { id: string } | undefined, id: string) => {
      const stream = follow(agent, caller, id);
      const result = await stream.next();
      expect(await stream.next()).toBeUndefined();
      return { codes: result?.errors?.map((e) => e.extensions?.code), data: result?.data ?? null };
    };
    expect(await refusal(stranger, send.reply.id)).toEqual({ codes: ['NOT_FOUND'], data: null });
    expect(await refusal(stranger, randomUUID())).toEqual({ codes: ['NOT_FOUND'], data: null });
    expect(await refusal(owner, 'not-a-uuid')).toEqual({ codes: ['NOT_FOUND'], data: null });
    expect(await refusal(undefined, send.reply.id)).toEqual({ codes: ['UNAUTHENTICATED'], data: null });
    expect(topicListeners(agent, send.reply.id)).toBe(0);
    // The owner may follow it (and the user's own message ends at once, COMPLETE).
    const own = await drain(follow(agent, owner, send.message.id));
    expect(own.map((e) => [e.done, e.message?.status])).toEqual([[true, 'COMPLETE']]);
  });

  it('a subscriber that disconnects mid-stream loses nothing: the reply is stored whole', async () => {
    const send = await sendStreamed(agent, owner, { agentId: 'xiaoai', text: '气虚的人适合什么运动' });
    const stream = follow(agent, owner, send.reply.id);
    const first = await stream.next();
    expect(first?.data?.messageStream.done).toBe(false);
    stream.dispose();
    await until(() => topicListeners(agent, send.reply.id) === 0, 'the subscription released');
    await agent.subgraph.streams.settled();
    const [reply] = await messagesOf(agent, owner, send.conversation.id);
    const stored = await selectMessage(agent.database, send.reply.id);
    expect(stored).toMatchObject({ status: 'COMPLETE', provider: 'OFFLINE', statusReason: null });
    expect(reply!.text).toBe(stored!.text);
    expect(stored!.text.startsWith(first!.data!.messageStream.delta)).toBe(true);
    expect(stored!.text.length).toBeGreaterThan(first!.data!.messageStream.delta.length);
  });

  it('@rateLimit counts subscriptions, not events: 60 a minute per user, the 61st RATE_LIMITED', async () => {
    const user = { id: randomUUID() };
    // A question not asked before (a cached reply would end at once).
    const send = await sendStreamed(agent, user, { agentId: 'xiaoai', text: `气虚的人怎么调理 ${randomUUID()}` });
    // One long stream first: its many events are one call.
    const long = await drain(follow(agent, user, send.reply.id));
    expect(long.length).toBeGreaterThan(1);
    for (let i = 1; i < 60; i += 1) {
      const events = await drain(follow(agent, user, send.reply.id));
      expect(events.at(-1)!.done).toBe(true);
    }
    const refused = follow(agent, user, send.reply.id);
    expect((await refused.next())?.errors?.map((e) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
  });

  it('a blocking sendMessage is as before: the whole reply, COMPLETE', async () => {
    const reply = await sent(agent, owner, { agentId: 'xiaoai', text: '气虚吃什么' });
    expect(reply.reply).toMatchObject({ provider: 'OFFLINE', degraded: false });
    const result = await agent.gql<any>('query ($id: ID!) { conversation(id: $id) { messages { edges { node { status statusReason } } } } }', { id: reply.conversation.id }, owner);
    expect(result.data.conversation.messages.edges.map((e: any) => e.node)).toEqual([
      { status: 'COMPLETE', statusReason: null },
      { status: 'COMPLETE', statusReason: null },
    ]);
  });
});

describe('replicas', () => {
  // Another instance of the agent subgraph over the same database. With REDIS_URL each has its own Redis event bus,
  // as separate processes would: events cross through Redis. On the embedded default there is no Redis, and replicas
  // of a process share its in-process bus, as these two do; the snapshot comes from the database either way.
  async function replica(env: Record<string, string> = {}) {
    const config = loadAgentConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      GATEWAY_SECRET: TEST_GATEWAY_SECRET,
      GATEWAY_URL: gateway.url,
      ...ENV,
      // With REDIS_URL a prefix of its own: the default one would hold earlier runs' cached replies.
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REPLY_CACHE_PREFIX: `suoke:test:${randomUUID()}:` } : {}),
      ...env,
    });
    const subgraph = createAgentSubgraph({ config, database: agent.database, ...(process.env.REDIS_URL ? {} : { events: agent.subgraph.events }) });
    const { url } = await subgraph.listen(0, '127.0.0.1');
    const gql = async <T>(query: string, variables: Record<string, unknown>, caller: { id: string }) => {
      const { testToken, gatewayHeaders } = await import('@suoke/platform/testing');
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...gatewayHeaders(), authorization: `Bearer ${await testToken(caller)}` },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, ...((await response.json()) as { data?: T; errors?: any[] }) };
    };
    return { subgraph, url, gql, database: agent.database };
  }

  it('a subscriber held by another replica than the one writing gets the same events, joining mid-stream', async () => {
    expect(agent.subgraph.events.kind).toBe(process.env.REDIS_URL ? 'redis' : 'memory');
    // Paced so that the subscriber surely joins before the end (~3 s), even on a busy machine.
    const writer = await replica({ OFFLINE_STREAM_PACE_MS: '80' });
    try {
      const send = await sendStreamed(writer as unknown as Agent, owner, { agentId: 'xiaoai', text: `我是气虚体质，平时吃什么好？${randomUUID()}` });
      await until(async () => ((await selectMessage(agent.database, send.reply.id))?.text.length ?? 0) > 0, 'some text stored');
      // Held by `agent`, written by `writer`.
      const events = await drain(follow(agent, owner, send.reply.id));
      const message = expectWellFormed(events, send.reply.id);
      expect(events.length).toBeGreaterThanOrEqual(3);
      expect(events.slice(0, -1).map((e) => e.delta).join('')).toBe(message.text);
      expect(message).toMatchObject({ status: 'COMPLETE', provider: 'OFFLINE', citations: [{ code: 'QI_DEFICIENT' }, { id: 'qi-deficiency-care' }] });
      expect(writer.subgraph.streams.stats.completed).toBe(1);
      expect(agent.subgraph.streams.stats.started).toBeGreaterThan(0);
    } finally {
      await writer.subgraph.stop();
    }
  });

  it('a replica stopping mid-reply (past its grace) stores it FAILED with a reason, and the subscriber elsewhere gets that end', async () => {
    const writer = await replica({ STREAM_STOP_GRACE_MS: '0', OFFLINE_STREAM_PACE_MS: '200' });
    let stopped = false;
    try {
      const send = await sendStreamed(writer as unknown as Agent, owner, { agentId: 'xiaoai', text: `气虚吃什么 ${randomUUID()}` });
      const stream = follow(agent, owner, send.reply.id);
      // Stopped once the subscriber has some text (so it was following before the end).
      const first = await stream.next();
      expect(first?.data?.messageStream).toMatchObject({ done: false });
      await writer.subgraph.stop();
      stopped = true;
      const events = [{ ...first!.data!.messageStream, at: 0 }, ...(await drain(stream))];
      const message = expectWellFormed(events, send.reply.id);
      expect(message).toMatchObject({ status: 'FAILED', statusReason: REASON_INTERRUPTED, degraded: true });
      expect(message.text.length).toBeGreaterThan(0);
      expect(events.slice(0, -1).map((e) => e.delta).join('')).toBe(message.text);
    } finally {
      if (!stopped) await writer.subgraph.stop();
    }
  });
});

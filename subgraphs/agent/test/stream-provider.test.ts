import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CONTINUED_OFFLINE } from '../src/service/replies.js';
import { startFakeGateway, startFakeOpenAi, modelEnv, type FakeGateway, type FakeOpenAi } from './fakes.js';
import { startAgent, type Agent } from './harness.js';
import { drain, expectWellFormed, follow, sendStreamed } from './stream-harness.js';

// Streamed replies from the OpenAI-compatible provider (`stream: true`, SSE chunks, `[DONE]`) against a local fake,
// with the reply service's resilience: the cache (a cached reply streams at once), retries and fallback before the
// first piece, the offline responder continuing a reply the model broke off (marked, degraded, not retried), and the
// breaker counting streamed failures.

let llm: FakeOpenAi;
let gateway: FakeGateway;
let agent: Agent;
const owner = { id: randomUUID() };

beforeAll(async () => {
  llm = await startFakeOpenAi({ streamPaceMs: 15, streamPieceChars: 3 });
  gateway = await startFakeGateway();
  agent = await startAgent({
    env: modelEnv(llm, gateway, {
      OFFLINE_STREAM_PACE_MS: '0',
      STREAM_PERSIST_MS: '20',
      // The breaker stays closed here; the last test has an agent of its own whose breaker opens.
      BREAKER_VOLUME: '1000',
    }),
  });
});
afterAll(async () => {
  await agent?.close();
  await llm?.close();
  await gateway?.close();
});
beforeEach(() => llm.set({ streamPaceMs: 15, streamPieceChars: 3 }));

async function streamed(text: string, on: Agent = agent) {
  const send = await sendStreamed(on, owner, { agentId: 'xiaoai', text });
  expect(send.reply.status).toBe('STREAMING');
  const events = await drain(follow(on, owner, send.reply.id));
  return { send, events, message: expectWellFormed(events, send.reply.id) };
}

describe('the OpenAI-compatible provider streams', () => {
  it('asks with stream: true and relays its chunks as deltas; the stored reply is the model\'s, with the knowledge found', async () => {
    const calls = llm.calls;
    const question = `气虚的人早上起不来怎么办 ${randomUUID()}`;
    const { events, message } = await streamed(question);
    expect(llm.calls).toBe(calls + 1);
    expect(llm.requests.at(-1)!.stream).toBe(true);
    const call = llm.calls;
    expect(message).toMatchObject({ status: 'COMPLETE', provider: 'OPENAI_COMPATIBLE', degraded: false, text: `模型回答#${call}：${question}` });
    expect(message.citations).toEqual([
      { __typename: 'Constitution', code: 'QI_DEFICIENT' },
      { __typename: 'Article', id: 'qi-deficiency-care' },
    ]);
    // The model sent ~20 pieces 15 ms apart; written every 20 ms, they arrive as several deltas.
    expect(llm.piecesSent.get(call)).toBeGreaterThan(10);
    expect(events.length).toBeGreaterThanOrEqual(4);
    expect(events.slice(0, -1).map((e) => e.delta).join('')).toBe(message.text);
  });

  it('a cached reply streams at once: the final event (after the whole text as one delta, for a subscriber that came first), and no model call', async () => {
    const question = `黄芪怎么吃 ${randomUUID()}`;
    const first = await streamed(question);
    expect(first.message.provider).toBe('OPENAI_COMPATIBLE');
    const calls = llm.calls;
    const again = await streamed(`${question}？`);
    expect(llm.calls).toBe(calls);
    // At once: the final event alone when the reply was stored before the subscription opened, else (a subscriber
    // that came first) the whole text as one delta, then the final event; never pieces.
    expect(again.events.length).toBeLessThanOrEqual(2);
    expect(again.events.slice(0, -1).map((e) => e.delta).join('')).toBe(again.events.length === 2 ? first.message.text : '');
    expect(again.message).toMatchObject({ status: 'COMPLETE', text: first.message.text, provider: 'OPENAI_COMPATIBLE', degraded: false });
    expect(agent.subgraph.replies.stats.cacheHits).toBeGreaterThan(0);
  });

  it('failures before the first piece are retried; when the attempts run out the offline responder answers, degraded, and nothing is cached', async () => {
    const question = `气虚失眠 ${randomUUID()}`;
    const calls = llm.calls;
    llm.failNext(1, 503);
    const retried = await streamed(question);
    expect(llm.calls).toBe(calls + 2);
    expect(retried.message).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });

    const other = `气虚头晕 ${randomUUID()}`;
    llm.failNext(3, 503);
    const fallback = await streamed(other);
    expect(llm.calls).toBe(calls + 5);
    expect(fallback.message).toMatchObject({ status: 'COMPLETE', provider: 'OFFLINE', degraded: true });
    expect(fallback.message.text.startsWith('（模型服务暂时不可用，以下是离线模式的回答。）')).toBe(true);
    expect(fallback.events.slice(0, -1).map((e) => e.delta).join('')).toBe(fallback.message.text);
    // Not cached: the next identical message asks the model again.
    await streamed(other);
    expect(llm.calls).toBe(calls + 6);
  });

  it('a model that breaks off mid-stream is not retried: the offline responder continues after a note, degraded', async () => {
    const calls = llm.calls;
    llm.cutNext(3, 3);
    const question = `阳虚怕冷 ${randomUUID()}`;
    const cut = await streamed(question);
    expect(llm.calls).toBe(calls + 1);
    const text = cut.message.text;
    const note = text.indexOf(CONTINUED_OFFLINE);
    expect(note).toBeGreaterThan(0);
    // What the model had sent stays, as sent, before the note; the offline reply follows it.
    expect(`模型回答#${calls + 1}：${question}`.startsWith(text.slice(0, note))).toBe(true);
    expect(text.slice(note + CONTINUED_OFFLINE.length)).toMatch(/^小艾：/);
    expect(cut.message).toMatchObject({ status: 'COMPLETE', provider: 'OFFLINE', degraded: true });
    expect(cut.events.slice(0, -1).map((e) => e.delta).join('')).toBe(text);
    // Not cached (degraded): the same message asks the model again.
    llm.cutNext(3);
    await streamed(question);
    expect(llm.calls).toBe(calls + 2);
  });

  it('the breaker counts streamed failures: two break-offs open it, and then the model is not asked', async () => {
    // Two failures in two calls open this agent's breaker; a long reset keeps it open for the test.
    const own = await startAgent({ env: modelEnv(llm, gateway, { OFFLINE_STREAM_PACE_MS: '0', BREAKER_VOLUME: '2', BREAKER_ERROR_PERCENT: '50', BREAKER_RESET_MS: '60000' }) });
    try {
      const calls = llm.calls;
      llm.cutNext(2, 2);
      await streamed(`阳虚腰酸 ${randomUUID()}`, own);
      expect(own.subgraph.modelCall!.state).toBe('closed');
      await streamed(`阳虚怕冷 ${randomUUID()}`, own);
      expect(llm.calls).toBe(calls + 2);
      expect(own.subgraph.modelCall!.state).toBe('open');
      // Open: the model is not asked; the offline responder answers at once, degraded.
      const open = await streamed(`阳虚手脚冰凉 ${randomUUID()}`, own);
      expect(llm.calls).toBe(calls + 2);
      expect(open.message).toMatchObject({ provider: 'OFFLINE', degraded: true });
      expect(open.message.text.startsWith('（模型服务暂时不可用，以下是离线模式的回答。）')).toBe(true);
      expect(own.subgraph.modelCall!.stats.rejectedOpen).toBe(1);
    } finally {
      await own.close();
    }
  });
});

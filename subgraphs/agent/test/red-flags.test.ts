import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redFlagOf } from '../src/service/red-flags.js';
import { modelEnv, startFakeGateway, startFakeOpenAi, type FakeGateway, type FakeOpenAi } from './fakes.js';
import { sent, startAgent, type Agent } from './harness.js';
import { drain, expectWellFormed, follow, sendStreamed } from './stream-harness.js';

// Red flags (issue 20): chest pain, signs of stroke and thoughts of self-harm, in Chinese and in English, get the
// urgent-care answer first from any agent on either provider, whatever else the message asks; the model and the
// knowledge base are not asked, and the reply is not cached for anyone.

const CASES = [
  { flag: 'CHEST_PAIN', language: 'zh', text: '突然胸口痛得厉害，还出冷汗。顺便问下黄芪有什么功效？', first: '【紧急】你描述的胸痛', must: '120' },
  { flag: 'CHEST_PAIN', language: 'en', text: 'I have crushing chest pain spreading to my left arm. Also, what is astragalus good for?', first: '[URGENT] Chest pain', must: '120' },
  { flag: 'STROKE', language: 'zh', text: '我爸刚才突然嘴歪了，说话不清楚，一侧手脚无力，是不是气虚？', first: '【紧急】你描述的情况可能是中风', must: '120' },
  { flag: 'STROKE', language: 'en', text: "My mother's face is drooping and her speech is slurred. Which constitution is that?", first: '[URGENT] These may be signs of a stroke', must: '120' },
  { flag: 'SELF_HARM', language: 'zh', text: '最近失眠，觉得活着没意思，不想活了', first: '【紧急】听到你这么说，我很担心你的安全', must: '12356' },
  { flag: 'SELF_HARM', language: 'en', text: "I can't sleep and I keep thinking about killing myself", first: '[URGENT] I am worried about your safety', must: '12356' },
] as const;
const AGENTS = ['xiaoai', 'xiaoke', 'laoke', 'soer'];

describe('redFlagOf', () => {
  it.each(CASES)('$flag in $language', ({ flag, text }) => {
    expect(redFlagOf(text)).toBe(flag);
  });

  it('raises nothing for ordinary questions, and the most urgent flag when several appear', () => {
    for (const text of ['黄芪有什么功效？', '胸闷气短是气虚吗', 'What is the yang-deficient constitution?', 'I feel tired and cold', 'huangqi you shenme gongxiao']) {
      expect(redFlagOf(text), text).toBeUndefined();
    }
    expect(redFlagOf('胸口痛，而且不想活了')).toBe('SELF_HARM');
  });
});

let gateway: FakeGateway;
let model: FakeOpenAi;
let offline: Agent;
let remote: Agent;
beforeAll(async () => {
  gateway = await startFakeGateway();
  model = await startFakeOpenAi();
  offline = await startAgent({ env: { GATEWAY_URL: gateway.url, OFFLINE_STREAM_PACE_MS: '5' } });
  remote = await startAgent({ env: modelEnv(model, gateway) });
});
afterAll(async () => {
  await offline?.close();
  await remote?.close();
  await model?.close();
  await gateway?.close();
});

describe.each([
  ['the offline responder', () => offline],
  ['the model provider', () => remote],
])('on %s', (_name, agentOf) => {
  it.each(CASES.map((c, i) => ({ ...c, agentId: AGENTS[i % AGENTS.length]! })))(
    '$flag in $language: $agentId answers urgent care first, without the model, the knowledge base or the cache',
    async ({ text, first, must, agentId }) => {
      const agent = agentOf();
      const [calls, searches, hits] = [model.calls, gateway.requests.length, agent.subgraph.replies.stats.cacheHits];
      const one = await sent(agent, { id: randomUUID() }, { agentId, text });
      expect(one.reply.text.startsWith(first), one.reply.text).toBe(true);
      expect(one.reply.text).toContain(must);
      expect(one.reply).toMatchObject({ provider: 'OFFLINE', degraded: false, citations: [] });
      // The same words from someone else: answered again, not served from a cache.
      const two = await sent(agent, { id: randomUUID() }, { agentId, text });
      expect(two.reply.text).toBe(one.reply.text);
      expect(agent.subgraph.replies.stats.cacheHits).toBe(hits);
      expect(model.calls).toBe(calls);
      expect(gateway.requests.length).toBe(searches);
    },
  );

  it('streams the urgent-care answer too, the model not asked', async () => {
    const agent = agentOf();
    const calls = model.calls;
    const owner = { id: randomUUID() };
    const send = await sendStreamed(agent, owner, { agentId: 'soer', text: CASES[4].text });
    const message = expectWellFormed(await drain(follow(agent, owner, send.reply.id)), send.reply.id);
    expect(message.text.startsWith(CASES[4].first)).toBe(true);
    expect(message).toMatchObject({ status: 'COMPLETE', provider: 'OFFLINE', degraded: false, citations: [] });
    expect(model.calls).toBe(calls);
  });
});

it('a question without a red flag still reaches the model (the check is not a blanket bypass)', async () => {
  const calls = model.calls;
  const result = await sent(remote, { id: randomUUID() }, { agentId: 'laoke', text: `胸闷气短是气虚吗 ${randomUUID().slice(0, 6)}` });
  expect(result.reply.provider).toBe('OPENAI_COMPATIBLE');
  expect(model.calls).toBe(calls + 1);
});

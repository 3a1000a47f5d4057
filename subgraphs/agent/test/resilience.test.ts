import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, type ChatProvider } from '../src/providers/types.js';
import { GARBAGE, modelEnv as sharedModelEnv, startFakeGateway, startFakeOpenAi, type FakeGateway, type FakeOpenAi } from './fakes.js';
import { codes, messagesOf, send, sent, startAgent, type Agent } from './harness.js';

/**
 * The model provider path against a local fake OpenAI-compatible server:
 * retries, timeouts, the breaker, the reply cache and single-flight, each
 * asserted by the calls the fake received.
 */
let fake: FakeOpenAi;
let gateway: FakeGateway;
let agent: Agent;

const user = () => ({ id: randomUUID() });
const modelEnv = () => sharedModelEnv(fake, gateway, { LLM_API_KEY: 'test-key-123', LLM_TIMEOUT_MS: '300' });

beforeAll(async () => {
  fake = await startFakeOpenAi();
  gateway = await startFakeGateway();
  // A breaker that never opens here: the breaker has its own instance below.
  agent = await startAgent({ env: { ...modelEnv(), BREAKER_VOLUME: '10000' } });
});
afterAll(async () => {
  await agent?.close();
  await fake?.close();
  await gateway?.close();
});

/** Runs `fn` and returns how many calls the fake model received meanwhile. */
async function modelCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const before = fake.calls;
  const result = await fn();
  return { result, calls: fake.calls - before };
}

describe('retries', () => {
  it.each([
    ['503', 503, 2],
    ['500', 500, 2],
    ['429', 429, 1],
  ])('recover transient failures (%s): the model answers after the failed attempts', async (_name, status, failures) => {
    fake.failNext(failures, status);
    const retriesBefore = agent.subgraph.modelCall!.stats.retries;
    const { result, calls } = await modelCalls(() => sent(agent, user(), { agentId: 'xiaoai', text: `我总是觉得累，气虚怎么办？${status}` }));
    expect(calls).toBe(failures + 1);
    expect(agent.subgraph.modelCall!.stats.retries - retriesBefore).toBe(failures);
    expect(result.reply).toMatchObject({ role: 'AGENT', provider: 'OPENAI_COMPATIBLE', degraded: false });
    expect(result.reply.text).toMatch(/^模型回答#\d+：我总是觉得累/);
  });

  it('retry a provider that does not answer in time, then fall back', async () => {
    fake.set({ latencyMs: 1_000 });
    try {
      const started = Date.now();
      const { result, calls } = await modelCalls(() => sent(agent, user(), { agentId: 'xiaoai', text: '超时的问题' }));
      expect(calls).toBe(3);
      expect(result.reply).toMatchObject({ provider: 'OFFLINE', degraded: true });
      // Three attempts cut at 300 ms each, not three full answers.
      expect(Date.now() - started).toBeLessThan(2_500);
    } finally {
      fake.set({ latencyMs: 0 });
    }
  });

  it.each([400, 401, 404, 422])('never retry a %i: one call, and the offline responder answers, marked degraded', async (status) => {
    fake.failNext(1, status);
    const { result, calls } = await modelCalls(() => sent(agent, user(), { agentId: 'laoke', text: `黄芪有什么功效 ${status}` }));
    expect(calls).toBe(1);
    expect(result.reply).toMatchObject({ provider: 'OFFLINE', degraded: true });
    expect(result.reply.text).toContain('模型服务暂时不可用');
    expect(result.reply.text).toContain('离线模式');
    // The stand-in still cites what the knowledge base found.
    expect(result.citations).toEqual([{ __typename: 'Herb', id: 'huangqi' }]);
  });

  it('never retry an answer that is not a chat completion', async () => {
    fake.failNext(1, GARBAGE);
    const { result, calls } = await modelCalls(() => sent(agent, user(), { agentId: 'soer', text: '返回了网页' }));
    expect(calls).toBe(1);
    expect(result.reply).toMatchObject({ provider: 'OFFLINE', degraded: true });
  });
});

describe('what the model is sent', () => {
  it('the agent’s system prompt with the knowledge found, the earlier turns, then the question', async () => {
    const caller = user();
    const first = await sent(agent, caller, { agentId: 'xiaoai', text: '我最近气短乏力' });
    await sent(agent, caller, { agentId: 'xiaoai', text: '那应该吃什么？', conversationId: first.conversation.id });
    const request = fake.requests.at(-1)!;
    expect(request.model).toBe('fake-model');
    expect(request.authorization).toBe('Bearer test-key-123');
    expect(request.messages[0]!.role).toBe('system');
    expect(request.messages[0]!.content).toContain('小艾');
    expect(request.messages.slice(1)).toEqual([
      { role: 'user', content: '我最近气短乏力' },
      { role: 'assistant', content: first.reply.text },
      { role: 'user', content: '那应该吃什么？' },
    ]);
    // The first question's knowledge went into its system prompt.
    const firstRequest = fake.requests.find((r) => r.messages.at(-1)!.content === '我最近气短乏力')!;
    expect(firstRequest.messages[0]!.content).toContain('气虚质');
  });
});

describe('the reply cache', () => {
  it('serves a repeated question without asking the model, across users, spacing and punctuation', async () => {
    const question = `气虚的人适合什么运动 ${randomUUID().slice(0, 8)}`;
    const first = await modelCalls(() => sent(agent, user(), { agentId: 'xiaoai', text: question }));
    expect(first.calls).toBe(1);
    const again = await modelCalls(() => sent(agent, user(), { agentId: 'xiaoai', text: `  ${question.replace(' ', '  ')}？` }));
    expect(again.calls).toBe(0);
    expect(again.result.reply.text).toBe(first.result.reply.text);
    expect(again.result.citations).toEqual(first.result.citations);
    expect(again.result.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
  });

  it('asks again when what changes the answer differs: another agent, or earlier turns', async () => {
    const question = `睡眠不好怎么调 ${randomUUID().slice(0, 8)}`;
    const caller = user();
    const first = await modelCalls(() => sent(agent, caller, { agentId: 'soer', text: question }));
    const otherAgent = await modelCalls(() => sent(agent, user(), { agentId: 'xiaoai', text: question }));
    const withHistory = await modelCalls(() => sent(agent, caller, { agentId: 'soer', text: question, conversationId: first.result.conversation.id }));
    expect([first.calls, otherAgent.calls, withHistory.calls]).toEqual([1, 1, 1]);
  });

  it('does not keep a degraded reply: once the model is back, it answers', async () => {
    const question = `降级后不缓存 ${randomUUID().slice(0, 8)}`;
    fake.failNext(3, 500);
    const degraded = await modelCalls(() => sent(agent, user(), { agentId: 'xiaoke', text: question }));
    expect(degraded.calls).toBe(3);
    expect(degraded.result.reply.degraded).toBe(true);
    const recovered = await modelCalls(() => sent(agent, user(), { agentId: 'xiaoke', text: question }));
    expect(recovered.calls).toBe(1);
    expect(recovered.result.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
  });
});

describe('single-flight', () => {
  // Its own agent with a per-attempt timeout far above the model's latency: with the 300 ms of the others, a loaded
  // host let the 250 ms call time out and be retried, a second call that single-flight is not about.
  let patient: Agent;
  beforeAll(async () => {
    patient = await startAgent({ env: { ...sharedModelEnv(fake, gateway, { LLM_API_KEY: 'test-key-123', LLM_TIMEOUT_MS: '10000' }), BREAKER_VOLUME: '10000' } });
  });
  afterAll(async () => {
    await patient?.close();
  });

  it('identical requests in flight at the same moment share one model call', async () => {
    fake.set({ latencyMs: 250 });
    try {
      const question = `同时问的问题 ${randomUUID().slice(0, 8)}`;
      const sharedBefore = patient.subgraph.replies.shared;
      const { result, calls } = await modelCalls(() => Promise.all(Array.from({ length: 6 }, () => sent(patient, user(), { agentId: 'laoke', text: question }))));
      expect(calls).toBe(1);
      expect(patient.subgraph.replies.shared - sharedBefore).toBe(5);
      expect(new Set(result.map((r) => r.reply.text)).size).toBe(1);
      // Six conversations, each with its own stored reply.
      expect(new Set(result.map((r) => r.reply.id)).size).toBe(6);
    } finally {
      fake.set({ latencyMs: 0 });
    }
  });
});

describe('the user’s message', () => {
  it('is kept when the model fails: stored before it was asked, answered by the stand-in', async () => {
    const caller = user();
    fake.failNext(3, 503);
    const result = await sent(agent, caller, { agentId: 'xiaoai', text: '模型挂了也要记住这句话' });
    expect(result.reply.degraded).toBe(true);
    const stored = await messagesOf(agent, caller, result.conversation.id);
    expect(stored.map((m) => [m.role, m.text])).toEqual([
      ['AGENT', result.reply.text],
      ['USER', '模型挂了也要记住这句话'],
    ]);
  });

  it('is kept even when no reply can be produced at all', async () => {
    const broken: ChatProvider = {
      kind: 'OPENAI_COMPATIBLE',
      usesHistory: true,
      cacheIdentity: 'broken',
      reply: async () => {
        throw new ProviderError('down', { status: 503, transient: true });
      },
    };
    const brokenOffline: ChatProvider = {
      kind: 'OFFLINE',
      usesHistory: false,
      cacheIdentity: 'broken-offline',
      reply: async () => {
        throw new Error('the offline responder broke');
      },
    };
    const failing = await startAgent({ primary: broken, offline: brokenOffline, env: { ...modelEnv(), LLM_MAX_ATTEMPTS: '2' } });
    try {
      const caller = user();
      const result = await send(failing, caller, { agentId: 'soer', text: '这句话不能丢' });
      expect(result.data?.sendMessage).toBeNull();
      expect(codes(result)).toEqual(['INTERNAL_SERVER_ERROR']);
      const conversations = await failing.gql<{ _entities: Array<{ conversations: { edges: Array<{ node: { id: string; messages: { edges: Array<{ node: { role: string; text: string } }> } } }> } }> }>(
        `query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User {
          conversations { edges { node { id messages { edges { node { role text } } } } } } } } }`,
        { id: caller.id },
        caller,
      );
      const edges = conversations.data!._entities[0]!.conversations.edges;
      expect(edges).toHaveLength(1);
      expect(edges[0]!.node.messages.edges.map((e) => e.node)).toEqual([{ role: 'USER', text: '这句话不能丢' }]);
    } finally {
      await failing.close();
    }
  });
});

describe('the circuit breaker', () => {
  let guarded: Agent;
  beforeAll(async () => {
    // One attempt per reply, so each failure is one call; opens at 50% of at least 3 calls; probes after 300 ms.
    guarded = await startAgent({
      env: { ...modelEnv(), LLM_MAX_ATTEMPTS: '1', BREAKER_VOLUME: '3', BREAKER_ERROR_PERCENT: '50', BREAKER_RESET_MS: '300', REPLY_CACHE_TTL_SECONDS: '0' },
    });
  });
  afterAll(async () => {
    await guarded?.close();
  });

  const ask = (text: string) => modelCalls(() => sent(guarded, user(), { agentId: 'xiaoai', text }));
  const waitForHalfOpen = async () => {
    const deadline = Date.now() + 3_000;
    while (guarded.subgraph.modelCall!.state !== 'half-open') {
      if (Date.now() > deadline) throw new Error(`breaker still ${guarded.subgraph.modelCall!.state}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('opens after repeated failures and then fails fast, without calling the model', async () => {
    fake.failNext(3, 500);
    for (const n of [1, 2, 3]) {
      const { result, calls } = await ask(`熔断前的失败 ${n}`);
      expect(calls).toBe(1);
      expect(result.reply.degraded).toBe(true);
    }
    expect(guarded.subgraph.modelCall!.state).toBe('open');
    const rejectedBefore = guarded.subgraph.modelCall!.stats.rejectedOpen;
    const { result, calls } = await ask('熔断打开时的问题');
    expect(calls).toBe(0);
    expect(result.reply).toMatchObject({ provider: 'OFFLINE', degraded: true });
    expect(guarded.subgraph.modelCall!.stats.rejectedOpen - rejectedBefore).toBe(1);
  });

  it('lets one probe through when half-open: a failed probe reopens it, a good one closes it', async () => {
    await waitForHalfOpen();
    fake.failNext(1, 500);
    const failedProbe = await ask('半开时失败的探测');
    expect(failedProbe.calls).toBe(1);
    expect(failedProbe.result.reply.degraded).toBe(true);
    expect(guarded.subgraph.modelCall!.state).toBe('open');
    expect((await ask('重新打开后')).calls).toBe(0);

    await waitForHalfOpen();
    const probe = await ask('半开时成功的探测');
    expect(probe.calls).toBe(1);
    expect(probe.result.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
    expect(guarded.subgraph.modelCall!.state).toBe('closed');
    const after = await ask('恢复之后');
    expect(after.calls).toBe(1);
    expect(after.result.reply.degraded).toBe(false);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelEnv, startFakeGateway, startFakeOpenAi, type FakeGateway, type FakeOpenAi } from './fakes.js';
import { sent, startAgent, type Agent } from './harness.js';

/**
 * suoke_agent_replies_total{agent, source} as the agent subgraph's /metrics serves it: a model reply, the
 * same question again from the reply cache, and the offline responder standing in when the model fails.
 */
let fake: FakeOpenAi;
let gateway: FakeGateway;
let agent: Agent;

beforeAll(async () => {
  fake = await startFakeOpenAi();
  gateway = await startFakeGateway();
  agent = await startAgent({ env: { ...modelEnv(fake, gateway, { LLM_API_KEY: 'test-key-123', LLM_TIMEOUT_MS: '300' }), BREAKER_VOLUME: '10000' } });
});
afterAll(async () => {
  await agent?.close();
  await fake?.close();
  await gateway?.close();
});

async function replies(): Promise<Record<string, number>> {
  const response = await fetch(new URL('/metrics', agent.url));
  expect(response.status).toBe(200);
  const counts: Record<string, number> = {};
  for (const match of (await response.text()).matchAll(/^suoke_agent_replies_total\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...match[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    expect(labels.service).toBe('agent');
    counts[`${labels.agent}/${labels.source}`] = Number(match[2]);
  }
  return counts;
}

describe('suoke_agent_replies_total', () => {
  it('has every agent and source from the start', async () => {
    const counts = await replies();
    expect(Object.keys(counts).sort()).toEqual(
      ['laoke', 'soer', 'xiaoai', 'xiaoke'].flatMap((agentId) => ['cache', 'fallback', 'model'].map((source) => `${agentId}/${source}`)).sort(),
    );
  });

  it('counts a model reply, a cached one, and a fallback when the model fails', async () => {
    const before = await replies();
    const delta = (after: Record<string, number>, key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    const question = `回复来源 ${randomUUID().slice(0, 8)}`;

    const first = await sent(agent, { id: randomUUID() }, { agentId: 'xiaoke', text: question });
    expect(first.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
    const second = await sent(agent, { id: randomUUID() }, { agentId: 'xiaoke', text: question });
    expect(second.reply.degraded).toBe(false);
    // Every attempt fails: the offline responder answers instead.
    fake.failNext(3, 500);
    const fallback = await sent(agent, { id: randomUUID() }, { agentId: 'xiaoke', text: `${question} 降级` });
    expect(fallback.reply).toMatchObject({ provider: 'OFFLINE', degraded: true });

    const after = await replies();
    expect(delta(after, 'xiaoke/model')).toBe(1);
    expect(delta(after, 'xiaoke/cache')).toBe(1);
    expect(delta(after, 'xiaoke/fallback')).toBe(1);
    expect(delta(after, 'xiaoai/model') + delta(after, 'xiaoai/fallback')).toBe(0);
  });
});

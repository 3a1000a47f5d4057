import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPortUrl, startFakeGateway, startFakeOpenAi, type FakeGateway, type FakeOpenAi } from './fakes.js';
import { sent, startAgent } from './harness.js';

/**
 * Where replies are cached: Redis with REDIS_URL, shared by every replica;
 * process memory without it. Run with and without REDIS_URL: the same
 * scenario shows one model call across two replicas, or one per replica.
 */
const redisUrl = process.env.REDIS_URL;
let fake: FakeOpenAi;
let gateway: FakeGateway;
const user = () => ({ id: randomUUID() });

beforeAll(async () => {
  fake = await startFakeOpenAi();
  gateway = await startFakeGateway();
});
afterAll(async () => {
  await fake?.close();
  await gateway?.close();
});

const env = () => ({ LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model', GATEWAY_URL: gateway.url });

describe(`the reply cache (${redisUrl ? 'Redis' : 'memory'})`, () => {
  it(redisUrl ? 'is shared by replicas: the second one asks no model' : 'is per process: each replica asks once', async () => {
    const prefix = `suoke:test:${randomUUID()}:`;
    const replicas = [await startAgent({ env: { ...env(), REPLY_CACHE_PREFIX: prefix } }), await startAgent({ env: { ...env(), REPLY_CACHE_PREFIX: prefix } })];
    try {
      expect(replicas.map((r) => r.subgraph.replies)).toHaveLength(2);
      const question = `两个副本都问 ${randomUUID().slice(0, 8)}`;
      const before = fake.calls;
      const first = await sent(replicas[0]!, user(), { agentId: 'xiaoai', text: question });
      const second = await sent(replicas[1]!, user(), { agentId: 'xiaoai', text: question });
      expect(fake.calls - before).toBe(redisUrl ? 1 : 2);
      if (redisUrl) expect(second.reply.text).toBe(first.reply.text);
      expect(replicas[1]!.subgraph.replies.stats.cacheHits).toBe(redisUrl ? 1 : 0);
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('treats an unreachable Redis as misses: replies still come, from the model each time', async () => {
    const agent = await startAgent({ env: { ...env(), REDIS_URL: (await closedPortUrl()).replace('http:', 'redis:').replace('/graphql', '') } });
    try {
      const question = `Redis 挂了 ${randomUUID().slice(0, 8)}`;
      const before = fake.calls;
      const replies = [await sent(agent, user(), { agentId: 'soer', text: question }), await sent(agent, user(), { agentId: 'soer', text: question })];
      expect(replies.map((r) => [r.reply.provider, r.reply.degraded])).toEqual([
        ['OPENAI_COMPATIBLE', false],
        ['OPENAI_COMPATIBLE', false],
      ]);
      expect(fake.calls - before).toBe(2);
    } finally {
      await agent.close();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '@suoke/platform';
import { testJwt } from '@suoke/platform/testing';
import { SERVICE_SUBJECT } from '../src/service/credentials.js';
import { closedPortUrl, startFakeGateway, type FakeGateway } from './fakes.js';
import { messagesOf, sent, startAgent, type Agent } from './harness.js';

/**
 * The default provider: no model, intent rules per agent, and a search of the
 * knowledge base through the gateway (a fake one here) with a service credential.
 */
let gateway: FakeGateway;
let agent: Agent;
const user = () => ({ id: randomUUID() });

beforeAll(async () => {
  gateway = await startFakeGateway();
  agent = await startAgent({ env: { GATEWAY_URL: gateway.url } });
});
afterAll(async () => {
  await agent?.close();
  await gateway?.close();
});

async function gatewayRequests<T>(fn: () => Promise<T>): Promise<{ result: T; requests: typeof gateway.requests }> {
  const before = gateway.requests.length;
  const result = await fn();
  return { result, requests: gateway.requests.slice(before) };
}

describe('the offline responder', () => {
  it('answers from the agent’s role, citing what the knowledge search found, and says what it is', async () => {
    const caller = user();
    const { result, requests } = await gatewayRequests(() => sent(agent, caller, { agentId: 'xiaoai', text: '最近总是觉得累，是不是气虚？' }));
    expect(result.reply).toMatchObject({ role: 'AGENT', provider: 'OFFLINE', degraded: false });
    expect(result.citations).toEqual([
      { __typename: 'Constitution', code: 'QI_DEFICIENT' },
      { __typename: 'Article', id: 'qi-deficiency-care' },
    ]);
    expect(result.reply.citations).toEqual(result.citations);
    expect(result.reply.text).toContain('小艾');
    expect(result.reply.text).toContain('气虚质');
    expect(result.reply.text).toContain('不是大模型生成的');
    // One request for the question's terms, most specific first, and the question itself (NFKC: ASCII punctuation).
    expect(requests).toHaveLength(1);
    expect(requests[0]!.terms).toEqual(['气虚', '最近总是觉得累,是不是气虚?']);
    // Stored with its citations, so that the conversation shows them later.
    const [reply] = await messagesOf(agent, caller, result.conversation.id);
    expect(reply).toEqual(result.reply);
  });

  it('calls the gateway with a service credential the platform verifies', async () => {
    const { requests } = await gatewayRequests(() => sent(agent, user(), { agentId: 'laoke', text: `黄芪 ${randomUUID().slice(0, 4)}` }));
    const header = requests[0]!.authorization!;
    expect(header).toMatch(/^Bearer /);
    const caller = await createTokenVerifier(testJwt)(header.slice('Bearer '.length));
    expect(caller).toMatchObject({ id: SERVICE_SUBJECT, roles: ['SERVICE'] });
  });

  it.each([
    ['xiaoai', '我想测一测自己是什么体质', '四诊', []],
    ['xiaoke', '我想预约问诊', '预约', []],
    ['laoke', '黄芪有什么功效？', '知识库里的说明', [{ __typename: 'Herb', id: 'huangqi' }]],
    ['soer', '晚上总是睡不着怎么办', '睡前', [{ __typename: 'Article', id: 'yin-deficiency-dryness' }]],
  ])('%s answers “%s” from its role', async (agentId, text, expected, citations) => {
    const result = await sent(agent, user(), { agentId, text });
    expect(result.conversation.agent.id).toBe(agentId);
    expect(result.reply.text).toContain(expected);
    expect(result.citations).toEqual(citations);
  });

  it('points to emergency care before anything else', async () => {
    const result = await sent(agent, user(), { agentId: 'soer', text: '突然胸痛，喘不上气' });
    expect(result.reply.text).toContain('120');
  });

  it('cites what the question itself names, quoting it with its cautions, even below the terms’ threshold', async () => {
    const result = await sent(agent, user(), { agentId: 'laoke', text: 'huangqi you shenme gongxiao' });
    expect(result.citations).toEqual([{ __typename: 'Herb', id: 'huangqi' }]);
    expect(result.reply.text).toContain('1. 【中药】黄芪（Astragalus root）：功效：补气升阳');
    expect(result.reply.text).toContain('注意：表实邪盛者不宜');
    expect(result.reply.text).not.toContain('没有找到');
  });

  it('does not cite hits below the relevance threshold', async () => {
    const result = await sent(agent, user(), { agentId: 'xiaoai', text: '阳虚' });
    expect(result.citations).toEqual([]);
    expect(result.reply.text).toContain('没有找到');
    expect(result.reply.degraded).toBe(false);
  });

  it('serves a repeated question from the cache without searching again', async () => {
    const text = `气虚的人怎么养 ${randomUUID().slice(0, 6)}`;
    const first = await gatewayRequests(() => sent(agent, user(), { agentId: 'xiaoai', text }));
    const second = await gatewayRequests(() => sent(agent, user(), { agentId: 'xiaoai', text }));
    expect(first.requests).toHaveLength(1);
    expect(second.requests).toHaveLength(0);
    expect(second.result.reply.text).toBe(first.result.reply.text);
    expect(agent.subgraph.replies.stats.cacheHits).toBeGreaterThan(0);
  });
});

describe('without the knowledge base', () => {
  it('answers from the role with no citations, says so, and keeps no cached copy', async () => {
    const text = `气虚乏力 ${randomUUID().slice(0, 6)}`;
    gateway.down();
    let down;
    try {
      down = await sent(agent, user(), { agentId: 'xiaoai', text });
    } finally {
      gateway.up();
    }
    expect(down.reply).toMatchObject({ provider: 'OFFLINE', degraded: true, citations: [] });
    expect(down.reply.text).toContain('知识库暂时无法访问');
    const back = await gatewayRequests(() => sent(agent, user(), { agentId: 'xiaoai', text }));
    expect(back.requests).toHaveLength(1);
    expect(back.result.reply.degraded).toBe(false);
    expect(back.result.citations).toContainEqual({ __typename: 'Constitution', code: 'QI_DEFICIENT' });
  });

  it('answers at once when nothing listens at GATEWAY_URL', async () => {
    const isolated = await startAgent({ env: { GATEWAY_URL: await closedPortUrl() } });
    try {
      const result = await sent(isolated, user(), { agentId: 'laoke', text: '黄芪有什么功效' });
      expect(result.reply).toMatchObject({ provider: 'OFFLINE', degraded: true, citations: [] });
      expect(result.reply.text).toContain('老克');
      expect(result.reply.text).toContain('知识库暂时无法访问');
    } finally {
      await isolated.close();
    }
  });
});

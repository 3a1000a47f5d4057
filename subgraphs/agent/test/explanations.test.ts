import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServiceToken } from '@suoke/platform/testing';
import { ServiceCallError } from '@suoke/platform';
import type { ReportKnowledge } from '../src/service/explanations.js';
import { codes, countRows, startAgent, type Agent } from './harness.js';

// explainReport / retractReportExplanation: the agent's step of the consultation
// follow-up saga. Idempotent by key, a tombstone on retraction, service scope only.

const knowledge: ReportKnowledge = {
  constitutions: new Map([
    ['QI_DEFICIENT', { code: 'QI_DEFICIENT', name: '气虚质', summary: '元气不足，以疲乏、气短、自汗等为主要特征。' }],
    ['QI_STAGNATION', { code: 'QI_STAGNATION', name: '气郁质', summary: '气机郁滞，以神情抑郁、忧虑脆弱为主要特征。' }],
  ]),
  syndromes: new Map([['SPLEEN_QI_DEFICIENCY', { code: 'SPLEEN_QI_DEFICIENCY', name: '脾气虚证', treatmentPrinciple: '健脾益气' }]]),
};
let lookups = 0;
let knowledgeDown = false;
let agent: Agent;
let service: string;

beforeAll(async () => {
  agent = await startAgent({
    env: { GATEWAY_URL: 'http://127.0.0.1:9/graphql' },
    reportKnowledge: async () => {
      lookups += 1;
      if (knowledgeDown) throw new ServiceCallError('ReportKnowledge: the gateway could not be reached', { transient: true });
      return knowledge;
    },
  });
  service = await testServiceToken('diagnosis', ['reports:explain', 'notifications:write']);
});
afterAll(async () => {
  await agent?.close();
});

const EXPLAIN = `mutation ($input: ExplainReportInput!) { explainReport(input: $input) { key conversationId messageId } }`;
const RETRACT = `mutation ($key: String!) { retractReportExplanation(key: $key) }`;
const CONVERSATIONS = `{ _entities(representations: [{ __typename: "User", id: "USER" }]) { ... on User { conversations(first: 10) { edges { node { id agent { id } messages(first: 5) { edges { node { role text citations { __typename ... on Constitution { code } ... on Syndrome { code } } } } } } } } } } }`;

function input(userId: string, key = `report:${randomUUID()}:1:explain`) {
  return {
    key,
    userId,
    reportId: randomUUID(),
    primaryConstitution: 'QI_DEFICIENT',
    secondaryConstitutions: ['QI_STAGNATION'],
    suggestedSyndromes: ['SPLEEN_QI_DEFICIENCY'],
    confidence: 0.87,
    advice: '宜多食山药、大枣等益气健脾之品。',
  };
}

async function conversationsOf(userId: string) {
  const result = await agent.gql<any>(CONVERSATIONS.replace('USER', userId), {}, { id: userId });
  expect(result.errors).toBeUndefined();
  return result.data._entities[0].conversations.edges.map((e: any) => e.node);
}

describe('explainReport', () => {
  it('writes XiaoAI’s explanation into a new conversation of the owner, citing the report’s constitutions and syndromes', async () => {
    const userId = randomUUID();
    const result = await agent.gql<any>(EXPLAIN, { input: input(userId) }, service);
    expect(result.errors).toBeUndefined();
    const [conversation] = await conversationsOf(userId);
    expect(conversation.id).toBe(result.data.explainReport.conversationId);
    expect(conversation.agent.id).toBe('xiaoai');
    const [message] = conversation.messages.edges.map((e: any) => e.node);
    expect(message.role).toBe('AGENT');
    expect(message.text).toContain('「气虚质」');
    expect(message.text).toContain('气郁质');
    expect(message.text).toContain('脾气虚证（治法：健脾益气）');
    expect(message.text).toContain('87%');
    expect(message.citations).toEqual([
      { __typename: 'Constitution', code: 'QI_DEFICIENT' },
      { __typename: 'Constitution', code: 'QI_STAGNATION' },
      { __typename: 'Syndrome', code: 'SPLEEN_QI_DEFICIENCY' },
    ]);
  });

  it('is idempotent by key: the same key, even concurrently, writes once and answers the same ids without asking knowledge again', async () => {
    const userId = randomUUID();
    const body = input(userId);
    const before = await countRows(agent.database, 'messages');
    const answers = await Promise.all([1, 2, 3].map(() => agent.gql<any>(EXPLAIN, { input: body }, service)));
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    expect(new Set(answers.map((a) => a.data.explainReport.messageId)).size).toBe(1);
    expect(await countRows(agent.database, 'messages')).toBe(before + 1);
    const lookupsBefore = lookups;
    const again = await agent.gql<any>(EXPLAIN, { input: body }, service);
    expect(again.data.explainReport).toEqual(answers[0]!.data.explainReport);
    expect(lookups).toBe(lookupsBefore);
    expect(await conversationsOf(userId)).toHaveLength(1);
  });

  it('retraction removes the explanation and its conversation, is idempotent, and bars the key from being written again', async () => {
    const userId = randomUUID();
    const body = input(userId);
    await agent.gql<any>(EXPLAIN, { input: body }, service);
    for (let i = 0; i < 2; i++) {
      const retracted = await agent.gql<any>(RETRACT, { key: body.key }, service);
      expect(retracted).toMatchObject({ data: { retractReportExplanation: true } });
    }
    expect(await conversationsOf(userId)).toEqual([]);
    const late = await agent.gql<any>(EXPLAIN, { input: body }, service);
    expect(codes(late)).toEqual(['CONFLICT']);
    expect(await conversationsOf(userId)).toEqual([]);
  });

  it('a retraction that arrives first leaves a tombstone: the late explanation writes nothing', async () => {
    const userId = randomUUID();
    const body = input(userId);
    expect((await agent.gql<any>(RETRACT, { key: body.key }, service)).data).toEqual({ retractReportExplanation: true });
    expect(codes(await agent.gql<any>(EXPLAIN, { input: body }, service))).toEqual(['CONFLICT']);
    expect(await conversationsOf(userId)).toEqual([]);
  });

  it('keeps a conversation the user has written in since: only the explanation goes', async () => {
    const userId = randomUUID();
    const body = input(userId);
    const written = await agent.gql<any>(EXPLAIN, { input: body }, service);
    const { conversationId, messageId } = written.data.explainReport;
    await agent.database.rows(sql`insert into "agent".messages (conversation_id, role, text) values (${conversationId}, 'USER', '谢谢小艾')`);
    await agent.gql<any>(RETRACT, { key: body.key }, service);
    const [conversation] = await conversationsOf(userId);
    expect(conversation.id).toBe(conversationId);
    expect(conversation.messages.edges.map((e: any) => e.node.text)).toEqual(['谢谢小艾']);
    const [gone] = await agent.database.rows<{ n: number }>(sql`select count(*)::int as n from "agent".messages where id = ${messageId}`);
    expect(gone!.n).toBe(0);
  });

  it('while knowledge cannot be reached, fails with a masked internal error and writes nothing (the saga retries)', async () => {
    const userId = randomUUID();
    knowledgeDown = true;
    try {
      const result = await agent.gql<any>(EXPLAIN, { input: input(userId) }, service);
      expect(codes(result)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(JSON.stringify(result)).not.toMatch(/gateway|127\.0\.0\.1/);
    } finally {
      knowledgeDown = false;
    }
    expect(await conversationsOf(userId)).toEqual([]);
  });

  it('refuses people, other services, and bad input', async () => {
    const userId = randomUUID();
    const asUser = await agent.gql<any>(EXPLAIN, { input: input(userId) }, { id: userId });
    expect(codes(asUser)).toEqual(['FORBIDDEN']);
    const asAdmin = await agent.gql<any>(EXPLAIN, { input: input(userId) }, { id: randomUUID(), roles: ['ADMIN'] });
    expect(codes(asAdmin)).toEqual(['FORBIDDEN']);
    const otherService = await testServiceToken('agent', []);
    expect(codes(await agent.gql<any>(RETRACT, { key: 'k' }, otherService))).toEqual(['FORBIDDEN']);
    expect(codes(await agent.gql<any>(EXPLAIN, { input: input(userId) }))).toEqual(['UNAUTHENTICATED']);
    const bad = [
      [{ key: '' }, 'input.key'],
      [{ userId: 'nope' }, 'input.userId'],
      [{ confidence: 1.5 }, 'input.confidence'],
      [{ primaryConstitution: 'qi deficient!' }, 'input.primaryConstitution'],
      [{ primaryConstitution: 'NOT_A_CONSTITUTION' }, 'input.primaryConstitution'],
      [{ advice: '  ' }, 'input.advice'],
    ] as const;
    for (const [patch, field] of bad) {
      const result = await agent.gql<any>(EXPLAIN, { input: { ...input(userId), ...patch } }, service);
      expect(codes(result)).toEqual(['BAD_USER_INPUT']);
      expect(result.errors?.[0]?.extensions?.field).toBe(field);
    }
    expect(await conversationsOf(userId)).toEqual([]);
  });
});

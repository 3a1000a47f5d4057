import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testToken } from '@suoke/platform/testing';
import { startStack, type Stack } from './harness.js';

// The consultation follow-up saga end to end: diagnosis completes the report,
// the agent subgraph explains it (reading knowledge through the gateway), the
// user subgraph notifies, and the report is published — all visible on `me`.
// A user the user subgraph does not know makes NOTIFY fail for good: the
// explanation is retracted and the report FAILED.

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`;
const ME = /* GraphQL */ `{
  me {
    latestReport { id status statusReason primaryConstitution { code name } }
    notifications(first: 5) { edges { node { kind title reportId readAt } } }
    conversations(first: 5) {
      edges { node { agent { id } messages(first: 5) { edges { node { role text citations { __typename ... on Constitution { code name } ... on Syndrome { code name } } } } } } }
    }
  }
}`;

let stack: Stack;
let questions: { id: string; reverseScored: boolean; constitution: { code: string } }[];

beforeAll(async () => {
  stack = await startStack();
  questions = (await stack.query('{ constitutionQuestionnaire { id reverseScored constitution { code } } }')).data?.constitutionQuestionnaire;
});
afterAll(async () => {
  await stack?.stop();
});

async function completeConsultation(token: string) {
  const started = await stack.query('mutation { startConsultation { id } }', {}, token);
  expect(started.errors).toBeUndefined();
  const id = started.data?.startConsultation.id;
  const answers = questions.map((q) => ({ questionId: q.id, value: q.constitution.code === 'QI_DEFICIENT' ? 5 : q.constitution.code === 'BALANCED' ? (q.reverseScored ? 4 : 2) : 1 }));
  const inquiry = await stack.query('mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers } }, token);
  expect(inquiry.errors).toBeUndefined();
  const completed = await stack.query('mutation($id: ID!) { completeConsultation(id: $id) { status report { id status statusReason } } }', { id }, token);
  expect(completed.errors).toBeUndefined();
  return completed.data?.completeConsultation.report as { id: string; status: string; statusReason: string | null };
}

describe('the consultation follow-up saga through the gateway', () => {
  it('publishes the report with XiaoAI’s explanation and a notification, all on `me`', async () => {
    const registered = await stack.query(REGISTER, { input: { email: `saga-${randomUUID()}@example.com`, password: 'saga-password-2026', displayName: '韩梅梅' } });
    const token = registered.data?.register.accessToken;
    const report = await completeConsultation(token);
    expect(report).toEqual({ id: report.id, status: 'PUBLISHED', statusReason: null });

    const me = await stack.query(ME, {}, token);
    expect(me.errors).toBeUndefined();
    expect(me.data?.me.latestReport).toEqual({ id: report.id, status: 'PUBLISHED', statusReason: null, primaryConstitution: { code: 'QI_DEFICIENT', name: '气虚质' } });
    expect(me.data?.me.notifications.edges.map((e: any) => e.node)).toEqual([{ kind: 'REPORT_READY', title: '你的体质辨识报告已生成', reportId: report.id, readAt: null }]);
    const [conversation] = me.data?.me.conversations.edges.map((e: any) => e.node);
    expect(conversation.agent.id).toBe('xiaoai');
    const [explanation] = conversation.messages.edges.map((e: any) => e.node);
    expect(explanation.role).toBe('AGENT');
    expect(explanation.text).toContain('「气虚质」');
    // Citations resolved by the knowledge subgraph from the codes the agent stored.
    expect(explanation.citations[0]).toEqual({ __typename: 'Constitution', code: 'QI_DEFICIENT', name: '气虚质' });
  });

  it('a step that fails for good: the explanation already written is retracted and the report is FAILED with its reason', async () => {
    // A valid token for an account the user subgraph does not have: postNotification refuses it.
    const userId = randomUUID();
    const token = await testToken({ id: userId });
    const report = await completeConsultation(token);
    expect(report).toEqual({ id: report.id, status: 'FAILED', statusReason: 'The notification that the report is ready could not be sent' });

    // `me` is the user subgraph's and knows no such user: read the agent's side from its own database.
    const agentDb = stack.databases.agent!.database;
    const explanations = await agentDb.rows<{ key: string; retracted: boolean; message_id: string | null }>(
      sql`select key, retracted_at is not null as retracted, message_id::text from "agent".report_explanations where report_id = ${report.id}`,
    );
    expect(explanations).toEqual([{ key: `report:${report.id}:1:explain`, retracted: true, message_id: expect.any(String) }]);
    const [left] = await agentDb.rows<{ conversations: number; messages: number }>(sql`
      select (select count(*)::int from "agent".conversations where user_id = ${userId}) as conversations,
             (select count(*)::int from "agent".messages where id = ${explanations[0]!.message_id}) as messages`);
    expect(left).toEqual({ conversations: 0, messages: 0 });
    const steps = await stack.databases.diagnosis!.database.rows<{ step: string; status: string }>(
      sql`select step, status from "diagnosis".report_saga_steps where report_id = ${report.id} order by step`,
    );
    expect(steps).toEqual([
      { step: 'EXPLAIN', status: 'COMPENSATED' },
      { step: 'NOTIFY', status: 'COMPENSATED' },
    ]);
  });
});

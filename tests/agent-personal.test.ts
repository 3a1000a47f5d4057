import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, seedPersonalData, strictQuery } from './consent-fixtures.js';
import { codes, startStack, type Stack } from './harness.js';

// Issue 20 through the whole supergraph: the agents read a person's data only with their consent, through the
// delegated token the agent subgraph mints per message; a reply built on it cites the user's own items (resolved by
// health and diagnosis for their owner), its cache entry is the user's and the grant's alone, and a revocation holds
// from the next message on. XiaoKe's care plan reads the report the same way.

const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) {
    reply { text handedOffTo { id } }
    citations {
      __typename
      ... on HealthSummary { id type stat { count latest } }
      ... on DiagnosisReport { id primaryConstitution { code } }
      ... on Constitution { code }
    }
  }
}`;
const HEALTH_QUESTION = '索儿，我的体重最近怎么样？';
const REPORT_QUESTION = '我的体质报告说了什么？';

let stack: Stack;
let gql: ReturnType<typeof strictQuery>;
let owner: { id: string; token: string };
let other: { id: string; token: string };
let reportId: string;

const ask = async (token: string, text: string, agentId = 'soer') => (await gql(token, SEND, { input: { agentId, text } })).sendMessage;
const scopes = (token: string, verb: 'grant' | 'revoke', s: string[]) =>
  gql(token, `mutation ($s: [AgentAccessScope!]!) { ${verb}AgentAccess(input: { scopes: $s }) { scopes version } }`, { s });
const personal = (citations: Array<{ __typename: string }>) => citations.filter((c) => c.__typename === 'HealthSummary' || c.__typename === 'DiagnosisReport');

beforeAll(async () => {
  stack = await startStack();
  gql = strictQuery(stack);
  owner = await registerUser(gql, 'personal-owner');
  other = await registerUser(gql, 'personal-other');
  reportId = await seedPersonalData(gql, owner, 58.4);
  await seedPersonalData(gql, other, 91.2);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

describe('personal context in replies', () => {
  it('reads nothing before a grant: no personal citation, no figure of the user', async () => {
    const reply = await ask(owner.token, HEALTH_QUESTION);
    expect(personal(reply.citations)).toEqual([]);
    expect(reply.reply.text).not.toContain('58.4');
  });

  it('with HEALTH_SUMMARY granted, answers from the week and cites the summary, resolved by health for its owner', async () => {
    await scopes(owner.token, 'grant', ['HEALTH_SUMMARY']);
    const reply = await ask(owner.token, HEALTH_QUESTION);
    expect(reply.reply.text).toContain('58.4');
    const summaries = personal(reply.citations) as Array<{ __typename: string; type: string; stat: { latest: number } | null }>;
    expect(summaries.length).toBeGreaterThan(0);
    expect(summaries.every((c) => c.__typename === 'HealthSummary')).toBe(true);
    expect(summaries.find((c) => c.type === 'WEIGHT')?.stat?.latest).toBe(58.4);
  });

  it('never serves one user\'s personal reply to another asking the same words: each gets their own figures', async () => {
    await scopes(other.token, 'grant', ['HEALTH_SUMMARY']);
    const reply = await ask(other.token, HEALTH_QUESTION);
    expect(reply.reply.text).toContain('91.2');
    expect(reply.reply.text).not.toContain('58.4');
  });

  it('a revocation holds from the next message: the same question is answered without the data, not from the cache', async () => {
    await scopes(owner.token, 'revoke', ['HEALTH_SUMMARY']);
    const reply = await ask(owner.token, HEALTH_QUESTION);
    expect(reply.reply.text).not.toContain('58.4');
    expect(personal(reply.citations)).toEqual([]);
  });

  it('with REPORTS granted, a question about the report cites the user\'s DiagnosisReport', async () => {
    await scopes(owner.token, 'grant', ['REPORTS']);
    const reply = await ask(owner.token, REPORT_QUESTION, 'xiaoai');
    const reports = personal(reply.citations) as Array<{ __typename: string; id: string; primaryConstitution: { code: string } }>;
    expect(reports).toEqual([{ __typename: 'DiagnosisReport', id: reportId, primaryConstitution: { code: 'YANG_DEFICIENT' } }]);
  });
});

describe('XiaoKe\'s care plan reads the report only with consent', () => {
  const PROPOSE = 'mutation { proposeCarePlan { version status primaryConstitution { code } } }';
  it('is CONSENT_REQUIRED without REPORTS, and built from the YANG_DEFICIENT report once granted', async () => {
    expect(codes(await stack.query(PROPOSE, {}, other.token))).toEqual(['CONSENT_REQUIRED']);
    const plan = (await gql(owner.token, PROPOSE)).proposeCarePlan;
    expect(plan).toMatchObject({ version: 1, primaryConstitution: { code: 'YANG_DEFICIENT' } });
    // The caller's plan at the root is the same as under `me`.
    const read = await gql(owner.token, '{ carePlan { version status } carePlans { edges { node { version } } } appointments { edges { node { id } } } me { carePlan { version status } } }');
    expect(read.carePlan).toEqual(read.me.carePlan);
    expect(read.carePlans.edges).toEqual([{ node: { version: 1 } }]);
    expect(read.appointments.edges).toEqual([]);
    expect(codes(await stack.query('{ carePlan { version } }'))).toEqual(['UNAUTHENTICATED']);
    await scopes(owner.token, 'revoke', ['REPORTS']);
    expect(codes(await stack.query(PROPOSE, {}, owner.token))).toEqual(['CONSENT_REQUIRED']);
  });
});

import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, healthSummaryId } from '@suoke/platform';
import { testServiceToken, testToken } from '@suoke/platform/testing';
import { gatewayPersonalContext, personalCitations, summariseForProvider } from '../subgraphs/agent/src/service/personal-context.js';
import { registerUser, seedPersonalData } from './consent-fixtures.js';
import { codes, post, startStack, type Stack } from './harness.js';

// Issue 20, "Consent and personal context", end to end through the gateway: the agent's credential mints a delegated
// token only for a user who granted something; the token reads that user's granted summary, profile facts and latest
// report and nothing else; health and diagnosis audit each read with the user and `service:agent`; the agent's client
// loads the context through the real supergraph; cited personal items resolve for their owner only.

const SECRET = 'harness-gateway-secret-0123456789';
let stack: Stack;
let owner: { id: string; token: string };
let other: { id: string; token: string };
let agent: string;
let reportId = '';

async function gql(token: string | undefined, query: string, variables: Record<string, unknown> = {}) {
  const response = await stack.query(query, variables, token);
  expect(response.errors, `${query.slice(0, 80)}: ${JSON.stringify(response.errors)}`).toBeUndefined();
  return response.data as Record<string, any>;
}

const MINT = 'mutation ($userId: ID!) { delegateAgentAccess(userId: $userId) { token scopes grantVersion } }';
const grant = (token: string, scopes: string[]) => gql(token, 'mutation ($s: [AgentAccessScope!]!) { grantAgentAccess(input: { scopes: $s }) { version } }', { s: scopes });
const revoke = (token: string, scopes: string[]) => gql(token, 'mutation ($s: [AgentAccessScope!]!) { revokeAgentAccess(input: { scopes: $s }) { version } }', { s: scopes });
async function mint(userId: string): Promise<string> {
  return (await gql(agent, MINT, { userId })).delegateAgentAccess.token;
}

beforeAll(async () => {
  stack = await startStack();
  owner = await registerUser(gql, 'owner');
  other = await registerUser(gql, 'other');
  agent = await testServiceToken('agent', ['agent-access:delegate']);
  reportId = await seedPersonalData(gql, owner, 58.4);
  await seedPersonalData(gql, other, 91.2);
}, 180_000);
afterAll(async () => {
  await stack?.stop();
});

describe('the delegated token through the gateway', () => {
  it('is refused with CONSENT_REQUIRED before any grant (the agent reads nothing), to the user and to other services alike', async () => {
    const refused = await stack.query(MINT, { userId: owner.id }, agent);
    expect([refused.data?.delegateAgentAccess ?? null, codes(refused)]).toEqual([null, ['CONSENT_REQUIRED']]);
    expect(codes(await stack.query(MINT, { userId: owner.id }, owner.token))).toEqual(['FORBIDDEN']);
    expect(codes(await stack.query(MINT, { userId: owner.id }, await testServiceToken('diagnosis', ['notifications:write'])))).toEqual(['FORBIDDEN']);
  });

  it("reads the granted user's summary, profile facts and report, and nothing else", async () => {
    await grant(owner.token, ['HEALTH_SUMMARY', 'HEALTH_PROFILE']);
    const token = await mint(owner.id);
    const read = await gql(token, '{ me { id healthSummary(days: 7) { type count average min max latest unit } healthProfile { sex birthDate heightCm bloodType } } }');
    expect(read.me.id).toBe(owner.id);
    expect(read.me.healthSummary).toEqual([
      { type: 'HEART_RATE', count: 2, average: 72, min: 64, max: 80, latest: 80, unit: 'bpm' },
      { type: 'WEIGHT', count: 1, average: 58.4, min: 58.4, max: 58.4, latest: 58.4, unit: 'kg' },
    ]);
    expect(read.me.healthProfile).toEqual({ sex: 'FEMALE', birthDate: '1987-03-14', heightCm: 163.7, bloodType: 'AB_NEGATIVE' });

    // Not granted yet: the report. Never: observations one by one, conditions, email, consultations, conversations,
    // notifications, consent, knowledge, the questionnaire, anyone's audit log.
    const refusedFields: Array<[string, string]> = [
      ['{ me { id latestReport { id } } }', 'me.latestReport'],
      ['{ me { id observations(first: 5) { edges { node { id value } } } } }', 'me.observations'],
      ['{ me { id healthProfile { conditions } } }', 'me.healthProfile.conditions'],
      ['{ me { id email } }', 'me.email'],
      ['{ me { id consultations(first: 5) { edges { node { id } } } } }', 'me.consultations'],
      ['{ me { id conversations(first: 5) { edges { node { id } } } } }', 'me.conversations'],
      ['{ me { id notifications(first: 5) { edges { node { id } } } } }', 'me.notifications'],
      ['{ me { id agentAccess { scopes } } }', 'me.agentAccess'],
      ['{ search(query: "气虚") { __typename } }', 'search'],
      ['{ constitutionQuestionnaire { id } }', 'constitutionQuestionnaire'],
      [`{ consultation(id: "${randomUUID()}") { id } }`, 'consultation'],
      ['{ healthAuditEvents(first: 1) { edges { node { id } } } }', 'healthAuditEvents'],
    ];
    for (const [query, path] of refusedFields) {
      const response = await stack.query(query, {}, token);
      // Refused at the field, or at the entity the field belongs to (an `_entities` refusal lands on its parent path).
      const refusals = (response.errors ?? []).filter((e) => e.extensions?.code === 'FORBIDDEN' && path.startsWith(e.path?.join('.') ?? '\u0000'));
      expect(refusals.length, `${query}: ${JSON.stringify(response.errors)}`).toBeGreaterThan(0);
      expect(codes(response).filter((c) => c !== 'FORBIDDEN'), query).toEqual([]);
      expect(JSON.stringify(response.data ?? null), query).not.toMatch(/free-text-condition|@example\.com|owner-display-name/);
    }
    for (const mutation of [
      'mutation { recordObservations(input: [{ externalId: "agent", type: WEIGHT, value: 1, recordedAt: "2026-01-01T00:00:00Z" }]) { inserted } }',
      'mutation { sendMessage(input: { agentId: "xiaoai", text: "hi" }) { reply { id } } }',
      'mutation { grantAgentAccess(input: { scopes: [REPORTS] }) { version } }',
      'mutation { startConsultation { id } }',
    ]) {
      expect(codes(await stack.query(mutation, {}, token)), mutation).toEqual(['FORBIDDEN']);
    }

    // Another user: the agent cannot mint for someone who granted nothing, and the owner's token reads only the owner.
    expect(codes(await stack.query(MINT, { userId: other.id }, agent))).toEqual(['CONSENT_REQUIRED']);
    const asGateway = { 'x-gateway-secret': SECRET };
    const stolen = await post<any>(stack.subgraphUrls.health!, {
      query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { healthSummary(days: 7) { count } healthProfile { sex } } } }',
      variables: { r: [{ __typename: 'User', id: other.id }] },
    }, token, asGateway);
    expect(codes(stolen).sort()).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect(JSON.stringify(stolen.data)).not.toMatch(/91\.2|count"?:\s*\d/);
    const otherReport = await post<any>(stack.subgraphUrls.diagnosis!, {
      query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { latestReport { id } } } }',
      variables: { r: [{ __typename: 'User', id: other.id }] },
    }, token, asGateway);
    expect(codes(otherReport)).toEqual(['FORBIDDEN']);

    // Granting REPORTS opens the report to the next token, not to the one already minted.
    await grant(owner.token, ['REPORTS']);
    expect(codes(await stack.query('{ me { latestReport { id } } }', {}, token))).toEqual(['FORBIDDEN']);
    const wider = await mint(owner.id);
    const report = await gql(wider, '{ me { latestReport { id createdAt confidence primaryConstitution { code } secondaryConstitutions { code } suggestedSyndromes { code } scores { score constitution { code } } } } }');
    expect(report.me.latestReport.id).toBe(reportId);
    expect(report.me.latestReport.primaryConstitution.code).toBe('YANG_DEFICIENT');
    // The knowledge subgraph's side of a constitution is not the user's data: refused.
    const named = await stack.query('{ me { latestReport { primaryConstitution { code name } } } }', {}, wider);
    expect(codes(named)).toContain('FORBIDDEN');
  });

  it('is audited by health and diagnosis with the user as subject and service:agent as actor', async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const since = new Date();
    await grant(owner.token, ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS']);
    await gql(await mint(owner.id), '{ me { healthSummary(days: 7) { type } healthProfile { sex } latestReport { id } } }');
    const rows = async (schema: string) =>
      stack.databases[schema]!.database.rows<{ actor: string; subject: string; resource: string; ids: string }>(sql`
        select actor, subject, resource, array_to_string(record_ids, ',') as ids from ${sql.identifier(schema)}.audit_events
        where subject is not null and outcome = 'ALLOWED' and at >= ${since.toISOString()}::timestamptz order by resource`);
    expect(await rows('health')).toEqual([
      { actor: 'service:agent', subject: owner.id, resource: 'HealthProfile', ids: owner.id },
      { actor: 'service:agent', subject: owner.id, resource: 'ObservationStat', ids: owner.id },
    ]);
    expect(await rows('diagnosis')).toEqual([{ actor: 'service:agent', subject: owner.id, resource: 'DiagnosisReport', ids: reportId }]);
    // The admin audit query shows both ids.
    const admin = await testToken({ id: randomUUID(), roles: ['ADMIN'] });
    const page = await gql(admin, '{ diagnosisAuditEvents(first: 20, actorId: "service:agent") { edges { node { actor subject resource recordIds } } } }');
    expect(page.diagnosisAuditEvents.edges.map((e: { node: unknown }) => e.node)).toContainEqual({ actor: 'service:agent', subject: owner.id, resource: 'DiagnosisReport', recordIds: [reportId] });
  });
});

describe("the agent's personal context client against the supergraph", () => {
  const log = createLogger({ service: 'agent', level: 'silent', format: 'json', nodeEnv: 'test' });
  const source = () => gatewayPersonalContext({ url: stack.gatewayUrl, serviceToken: async () => agent, log });

  it('loads what is granted and wanted, follows every change of consent, and is null once nothing is granted', async () => {
    const user = await registerUser(gql, 'context');
    const userReport = await seedPersonalData(gql, user, 66.6);
    expect(await source().load(user.id, ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS'])).toBeNull();

    const version = (await grant(user.token, ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS'])).grantAgentAccess.version as string;
    const full = await source().load(user.id, ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS']);
    expect(full).toMatchObject({ userId: user.id, grantVersion: version, scopes: ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS'] });
    expect(full!.healthSummary!.items).toEqual([
      { type: 'HEART_RATE', count: 2, average: 72, min: 64, max: 80, latest: 80, unit: 'bpm' },
      { type: 'WEIGHT', count: 1, average: 66.6, min: 66.6, max: 66.6, latest: 66.6, unit: 'kg' },
    ]);
    expect(full!.healthSummary!.days).toBe(7);
    expect(full!.healthProfile).toEqual({ sex: 'FEMALE', ageYears: expect.any(Number), heightCm: 163.7, bloodType: 'AB_NEGATIVE' });
    expect(full!.latestReport).toMatchObject({ id: userReport, primaryConstitution: 'YANG_DEFICIENT' });

    // Only what is wanted is read.
    const wanted = await source().load(user.id, ['REPORTS']);
    expect([wanted!.healthSummary, wanted!.healthProfile, wanted!.latestReport?.id]).toEqual([undefined, undefined, userReport]);

    // What may leave for a model: statistics and codes, never an id, the email, the name, the birth date or free text.
    const text = summariseForProvider(full, 'summary')!;
    expect(text).toMatch(/HEART_RATE: 2 readings, average 72 bpm/);
    expect(text).toMatch(/sex FEMALE, age \d0–\d9, height 164 cm, blood type AB_NEGATIVE/);
    expect(text).toMatch(/primary YANG_DEFICIENT/);
    for (const secret of [user.id, userReport, 'context-display-name', '@example.com', '1987-03-14', 'free-text-condition']) expect(text).not.toContain(secret);
    expect(summariseForProvider(full, 'off')).toBeNull();
    expect(summariseForProvider(null, 'summary')).toBeNull();

    // Revocation takes effect on the next load; the version moved on.
    const narrowed = (await revoke(user.token, ['HEALTH_PROFILE', 'REPORTS'])).revokeAgentAccess.version as string;
    const after = await source().load(user.id, ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS']);
    expect([after!.grantVersion, after!.scopes, after!.healthProfile, after!.latestReport, after!.healthSummary?.items.length]).toEqual([narrowed, ['HEALTH_SUMMARY'], undefined, undefined, 2]);
    await revoke(user.token, ['HEALTH_SUMMARY']);
    expect(await source().load(user.id, ['HEALTH_SUMMARY'])).toBeNull();
  });

  it('rejects (rather than answering null) when the gateway cannot be reached', async () => {
    const down = gatewayPersonalContext({ url: 'http://127.0.0.1:9/graphql', serviceToken: async () => agent, log });
    await expect(down.load(owner.id, ['REPORTS'])).rejects.toMatchObject({ name: 'ServiceCallError', transient: true });
  });
});

describe('cited personal items', () => {
  it('resolve through the supergraph for their owner only', async () => {
    await grant(owner.token, ['HEALTH_SUMMARY', 'REPORTS']);
    const log = createLogger({ service: 'agent', level: 'silent', format: 'json', nodeEnv: 'test' });
    const ctx = (await gatewayPersonalContext({ url: stack.gatewayUrl, serviceToken: async () => agent, log }).load(owner.id, ['HEALTH_SUMMARY', 'REPORTS']))!;
    const citations = personalCitations(ctx, ['HEALTH_SUMMARY', 'REPORTS']);
    expect(citations.map((c) => c.kind)).toEqual(['HEALTH_SUMMARY', 'HEALTH_SUMMARY', 'DIAGNOSIS_REPORT']);
    expect(personalCitations(ctx, ['REPORTS'])).toEqual([{ kind: 'DIAGNOSIS_REPORT', key: reportId }]);
    expect(citations[0]!.key).toBe(healthSummaryId({ userId: owner.id, type: 'HEART_RATE', from: new Date(ctx.healthSummary!.from), to: new Date(ctx.healthSummary!.to) }));

    // A reply that used them, stored as the reply pipeline stores citations (with a knowledge one).
    const sent = await gql(owner.token, 'mutation { sendMessage(input: { agentId: "xiaoai", text: "我最近的心率怎么样？" }) { conversation { id } reply { id } } }');
    const stored = [{ kind: 'CONSTITUTION', key: 'YANG_DEFICIENT' }, ...citations];
    await stack.databases.agent!.database.rows(sql`update "agent".messages set citations = ${JSON.stringify(stored)}::jsonb where id = ${sent.sendMessage.reply.id}::uuid`);
    const READ = `query ($id: ID!) { conversation(id: $id) { messages(first: 5) { edges { node { id citations {
      __typename
      ... on Constitution { code name }
      ... on HealthSummary { id type from to stat { count average } }
      ... on DiagnosisReport { id primaryConstitution { code } confidence }
    } } } } } }`;
    const mine = await gql(owner.token, READ, { id: sent.sendMessage.conversation.id });
    const reply = mine.conversation.messages.edges.map((e: { node: any }) => e.node).find((m: { id: string }) => m.id === sent.sendMessage.reply.id);
    expect(reply.citations).toEqual([
      { __typename: 'Constitution', code: 'YANG_DEFICIENT', name: expect.any(String) },
      { __typename: 'HealthSummary', id: citations[0]!.key, type: 'HEART_RATE', from: ctx.healthSummary!.from, to: ctx.healthSummary!.to, stat: { count: 2, average: 72 } },
      { __typename: 'HealthSummary', id: citations[1]!.key, type: 'WEIGHT', from: ctx.healthSummary!.from, to: ctx.healthSummary!.to, stat: { count: 1, average: 58.4 } },
      { __typename: 'DiagnosisReport', id: reportId, primaryConstitution: { code: 'YANG_DEFICIENT' }, confidence: expect.any(Number) },
    ]);

    // Anyone else asking the owning subgraphs for them (as the gateway would): refused, nothing disclosed.
    const asGateway = { 'x-gateway-secret': SECRET };
    const admin = await testToken({ id: randomUUID(), roles: ['ADMIN'] });
    for (const token of [other.token, admin]) {
      const health = await post<any>(stack.subgraphUrls.health!, {
        query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on HealthSummary { stat { count average } } } }',
        variables: { r: citations.slice(0, 2).map((c) => ({ __typename: 'HealthSummary', id: c.key })) },
      }, token, asGateway);
      expect([health.data?._entities, codes(health)]).toEqual([[null, null], ['FORBIDDEN', 'FORBIDDEN']]);
      const diagnosis = await post<any>(stack.subgraphUrls.diagnosis!, {
        query: 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on DiagnosisReport { confidence primaryConstitution { code } } } }',
        variables: { r: [{ __typename: 'DiagnosisReport', id: reportId }] },
      }, token, asGateway);
      expect([diagnosis.data?._entities, codes(diagnosis)]).toEqual([[null], ['FORBIDDEN']]);
    }
    // And the other user cannot reach the conversation that holds them.
    const stolen = await stack.query(READ, { id: sent.sendMessage.conversation.id }, other.token);
    expect(JSON.stringify(stolen.data ?? null)).not.toMatch(/HealthSummary|DiagnosisReport/);
  });
});

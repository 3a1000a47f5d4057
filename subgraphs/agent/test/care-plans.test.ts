import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceCallError } from '@suoke/platform';
import { knowledgeUnavailable } from '../src/service/care-plans-knowledge.js';
import { composeCarePlan, type LatestReport } from '../src/service/care-plans.js';
import { CARE_KNOWLEDGE, fakeReports, startCareAgent, type CareAgent } from './care-harness.js';
import { codes } from './harness.js';

// XiaoKe's care plans: built from the consented latest report and the knowledge
// base, stored as versions (PROPOSED → ACTIVE → SUPERSEDED), each recommendation
// citing its knowledge entry.

type Data = Record<string, any>;

const reports = fakeReports();
let lookups: Array<{ constitutions: readonly string[]; syndromes: readonly string[] }> = [];
let knowledgeDown = false;
let agent: CareAgent;
let unwired: CareAgent;

beforeAll(async () => {
  agent = await startCareAgent({
    reports: reports.source,
    careKnowledge: async (constitutions, syndromes) => {
      lookups.push({ constitutions, syndromes });
      if (knowledgeDown) throw knowledgeUnavailable(new ServiceCallError('CarePlanKnowledge: the gateway could not be reached', { transient: true }));
      return CARE_KNOWLEDGE;
    },
  });
  unwired = await startCareAgent();
});
afterAll(async () => {
  await Promise.all([agent?.close(), unwired?.close()]);
});

const PLAN = `id version status reportId reportCreatedAt primaryConstitution { code } syndromes { code } createdAt activatedAt supersededAt
  recommendations { category title text cautions source { __typename ... on Constitution { code } ... on Herb { id } ... on Acupoint { code } ... on Syndrome { code } } }`;
const PROPOSE = `mutation { proposeCarePlan { ${PLAN} } }`;
const ACCEPT = `mutation ($version: Int!) { acceptCarePlan(input: { version: $version }) { ${PLAN} } }`;
const MINE = `query ($id: ID!, $version: Int) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User {
  current: carePlan { ${PLAN} } chosen: carePlan(version: $version) { id version status } carePlans(first: 10) { edges { node { version status } } pageInfo { hasNextPage } } } } }`;

function report(overrides: Partial<LatestReport> = {}): LatestReport {
  return {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    primaryConstitution: 'QI_DEFICIENT',
    secondaryConstitutions: ['QI_STAGNATION'],
    suggestedSyndromes: ['SPLEEN_QI_DEFICIENCY'],
    ...overrides,
  };
}

/** A user who granted report access and has `latest` as their latest report. */
function consenting(latest: LatestReport | null = report()) {
  const user = { id: randomUUID() };
  reports.granted.add(user.id);
  reports.reports.set(user.id, latest);
  return user;
}

async function mine(user: { id: string; roles?: string[] }, ownerId = user.id, version?: number) {
  const result = await agent.gql<Data>(MINE, { id: ownerId, version }, user);
  return result;
}

async function planRows(userId: string) {
  return agent.database.rows<{ version: number; status: string }>(sql`select version, status from "agent".care_plans where user_id = ${userId} order by version`);
}

describe('composeCarePlan', () => {
  it('cites a knowledge entry for every recommendation: principles, diet, herbs with cautions, acupoints, exercise, sleep, emotions', () => {
    const plan = composeCarePlan(report(), CARE_KNOWLEDGE);
    expect(plan.map((r) => r.category)).toEqual(['PRINCIPLE', 'DIET', 'DIET', 'HERB', 'HERB', 'HERB', 'ACUPOINT', 'ACUPOINT', 'EXERCISE', 'SLEEP', 'EMOTION']);
    expect(plan.map((r) => `${r.source.kind}:${r.source.key}`)).toEqual([
      'SYNDROME:SPLEEN_QI_DEFICIENCY',
      'CONSTITUTION:QI_DEFICIENT',
      'CONSTITUTION:QI_STAGNATION',
      'HERB:huangqi',
      'HERB:dangshen',
      'HERB:baizhu',
      'ACUPOINT:ST36',
      'ACUPOINT:CV6',
      'CONSTITUTION:QI_DEFICIENT',
      'CONSTITUTION:QI_DEFICIENT',
      'CONSTITUTION:QI_DEFICIENT',
    ]);
    expect(plan[0]!.text).toContain('健脾益气');
    expect(plan[1]!.text).toContain('山药');
    expect(plan.find((r) => r.title === '黄芪')!.cautions).toEqual(['表实邪盛者忌用']);
  });

  it('leaves out codes the knowledge base does not know, and refuses a report whose primary constitution it does not know', () => {
    const plan = composeCarePlan(report({ secondaryConstitutions: ['UNKNOWN_ONE'], suggestedSyndromes: ['NO_SUCH_SYNDROME'] }), CARE_KNOWLEDGE);
    expect(plan.filter((r) => r.category === 'PRINCIPLE' || r.title.startsWith('兼顾'))).toEqual([]);
    expect(() => composeCarePlan(report({ primaryConstitution: 'NOT_KNOWN' }), CARE_KNOWLEDGE)).toThrow(/no constitution "NOT_KNOWN"/);
  });
});

describe('proposeCarePlan', () => {
  it('without the user’s consent is CONSENT_REQUIRED and stores nothing; a subgraph alone (nobody can have consented) refuses the same way', async () => {
    const user = { id: randomUUID() };
    reports.reports.set(user.id, report());
    const refused = await agent.gql<Data>(PROPOSE, {}, user);
    expect(codes(refused)).toEqual(['CONSENT_REQUIRED']);
    expect(refused.errors![0]!.message).toMatch(/grant/);
    expect(await planRows(user.id)).toEqual([]);
    expect(codes(await unwired.gql<Data>(PROPOSE, {}, user))).toEqual(['CONSENT_REQUIRED']);
    expect(codes(await agent.gql<Data>(PROPOSE, {}))).toEqual(['UNAUTHENTICATED']);
  });

  it('is NOT_FOUND for a user without a report', async () => {
    const user = consenting(null);
    expect(codes(await agent.gql<Data>(PROPOSE, {}, user))).toEqual(['NOT_FOUND']);
  });

  it('builds version 1 from the report and the knowledge base (one lookup of every code), PROPOSED and current; again for the same report it returns it without a lookup', async () => {
    const latest = report();
    const user = consenting(latest);
    lookups = [];
    const proposed = await agent.gql<Data>(PROPOSE, {}, user);
    expect(proposed.errors).toBeUndefined();
    const plan = proposed.data!.proposeCarePlan;
    expect(plan).toMatchObject({ version: 1, status: 'PROPOSED', reportId: latest.id, primaryConstitution: { code: 'QI_DEFICIENT' }, syndromes: [{ code: 'SPLEEN_QI_DEFICIENCY' }], activatedAt: null });
    expect(lookups).toEqual([{ constitutions: ['QI_DEFICIENT', 'QI_STAGNATION'], syndromes: ['SPLEEN_QI_DEFICIENCY'] }]);
    expect(plan.recommendations.map((r: Data) => r.source.__typename)).toEqual(expect.arrayContaining(['Syndrome', 'Constitution', 'Herb', 'Acupoint']));
    expect(plan.recommendations.find((r: Data) => r.source.id === 'huangqi')).toMatchObject({ category: 'HERB', title: '黄芪', cautions: ['表实邪盛者忌用'] });

    const again = await agent.gql<Data>(PROPOSE, {}, user);
    expect(again.data!.proposeCarePlan.id).toBe(plan.id);
    expect(lookups).toHaveLength(1);
    const read = await mine(user);
    expect(read.errors).toBeUndefined();
    expect(read.data!._entities[0].current).toEqual(plan);
  });

  it('concurrent proposals for one report store one version', async () => {
    const user = consenting();
    const answers = await Promise.all([1, 2, 3, 4].map(() => agent.gql<Data>(PROPOSE, {}, user)));
    expect(answers.flatMap((a) => a.errors ?? [])).toEqual([]);
    expect(new Set(answers.map((a) => a.data!.proposeCarePlan.id)).size).toBe(1);
    expect(await planRows(user.id)).toEqual([{ version: 1, status: 'PROPOSED' }]);
  });

  it('while the knowledge base cannot be read is SERVICE_UNAVAILABLE, leaks no address, and stores nothing', async () => {
    const user = consenting();
    knowledgeDown = true;
    try {
      const result = await agent.gql<Data>(PROPOSE, {}, user);
      expect(codes(result)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(JSON.stringify(result)).not.toMatch(/gateway|127\.0\.0\.1/);
    } finally {
      knowledgeDown = false;
    }
    expect(await planRows(user.id)).toEqual([]);
  });
});

describe('versions', () => {
  it('a newer report proposes a new version; the active one stays current until the new one is accepted; old versions stay readable', async () => {
    const user = consenting(report({ createdAt: '2026-11-01T08:00:00.000Z' }));
    await agent.gql<Data>(PROPOSE, {}, user);
    const accepted = await agent.gql<Data>(ACCEPT, { version: 1 }, user);
    expect(accepted.data!.acceptCarePlan).toMatchObject({ version: 1, status: 'ACTIVE' });
    expect(accepted.data!.acceptCarePlan.activatedAt).not.toBeNull();
    // Accepting the active version again changes nothing.
    expect((await agent.gql<Data>(ACCEPT, { version: 1 }, user)).data!.acceptCarePlan.activatedAt).toBe(accepted.data!.acceptCarePlan.activatedAt);

    const second = report({ primaryConstitution: 'YANG_DEFICIENT', secondaryConstitutions: [], suggestedSyndromes: [] });
    reports.reports.set(user.id, second);
    const proposed = (await agent.gql<Data>(PROPOSE, {}, user)).data!.proposeCarePlan;
    expect(proposed).toMatchObject({ version: 2, status: 'PROPOSED', reportId: second.id, primaryConstitution: { code: 'YANG_DEFICIENT' } });
    let read = (await mine(user, user.id, 2)).data!._entities[0];
    expect(read.current).toMatchObject({ version: 1, status: 'ACTIVE' });
    expect(read.chosen).toMatchObject({ version: 2, status: 'PROPOSED' });
    expect(read.carePlans.edges.map((e: Data) => [e.node.version, e.node.status])).toEqual([[2, 'PROPOSED'], [1, 'ACTIVE']]);

    // A third report before the second was accepted: the unaccepted proposal is superseded, the active plan is not.
    reports.reports.set(user.id, report({ primaryConstitution: 'QI_STAGNATION', secondaryConstitutions: [], suggestedSyndromes: [] }));
    expect((await agent.gql<Data>(PROPOSE, {}, user)).data!.proposeCarePlan).toMatchObject({ version: 3, status: 'PROPOSED' });
    expect(codes(await agent.gql<Data>(ACCEPT, { version: 2 }, user))).toEqual(['CONFLICT']);
    expect((await agent.gql<Data>(ACCEPT, { version: 3 }, user)).data!.acceptCarePlan).toMatchObject({ version: 3, status: 'ACTIVE' });
    read = (await mine(user, user.id, 1)).data!._entities[0];
    expect(read.current).toMatchObject({ version: 3, status: 'ACTIVE', primaryConstitution: { code: 'QI_STAGNATION' } });
    expect(read.chosen).toMatchObject({ version: 1, status: 'SUPERSEDED' });
    expect(read.carePlans.edges.map((e: Data) => [e.node.version, e.node.status])).toEqual([[3, 'ACTIVE'], [2, 'SUPERSEDED'], [1, 'SUPERSEDED']]);
    const oldest = (await agent.gql<Data>(`query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { carePlan(version: 1) { supersededAt recommendations(category: DIET) { category source { ... on Constitution { code } } } } } } }`, { id: user.id }, user)).data!._entities[0].carePlan;
    expect(oldest.supersededAt).not.toBeNull();
    expect(oldest.recommendations).toEqual([{ category: 'DIET', source: { code: 'QI_DEFICIENT' } }, { category: 'DIET', source: { code: 'QI_STAGNATION' } }]);
  });

  it('accepting an unknown version is NOT_FOUND, a bad one BAD_USER_INPUT; a missing version reads as null', async () => {
    const user = consenting();
    await agent.gql<Data>(PROPOSE, {}, user);
    expect(codes(await agent.gql<Data>(ACCEPT, { version: 9 }, user))).toEqual(['NOT_FOUND']);
    expect(codes(await agent.gql<Data>(ACCEPT, { version: 0 }, user))).toEqual(['BAD_USER_INPUT']);
    const read = await mine(user, user.id, 9);
    expect(read.data!._entities[0].chosen).toBeNull();
  });

  it('pages versions newest first', async () => {
    const user = consenting();
    for (let i = 0; i < 3; i += 1) {
      reports.reports.set(user.id, report());
      await agent.gql<Data>(PROPOSE, {}, user);
    }
    const PAGE = `query ($id: ID!, $after: String) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { carePlans(first: 2, after: $after) { edges { node { version } } pageInfo { hasNextPage endCursor } } } } }`;
    const first = (await agent.gql<Data>(PAGE, { id: user.id }, user)).data!._entities[0].carePlans;
    expect(first.edges.map((e: Data) => e.node.version)).toEqual([3, 2]);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await agent.gql<Data>(PAGE, { id: user.id, after: first.pageInfo.endCursor }, user)).data!._entities[0].carePlans;
    expect(second).toEqual({ edges: [{ node: { version: 1 } }], pageInfo: { hasNextPage: false, endCursor: expect.any(String) } });
    expect(codes(await agent.gql<Data>(PAGE, { id: user.id, after: 'forged' }, user))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('who reads care plans', () => {
  it('the owner and holders of health:read:any; another user gets FORBIDDEN and nothing; anonymous UNAUTHENTICATED', async () => {
    const user = consenting();
    await agent.gql<Data>(PROPOSE, {}, user);
    const stranger = await mine({ id: randomUUID() }, user.id);
    expect(codes(stranger)).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(stranger.data!._entities[0]).toEqual({ current: null, chosen: null, carePlans: null });
    const anonymous = await agent.gql<Data>(MINE, { id: user.id });
    expect(new Set(codes(anonymous))).toEqual(new Set(['UNAUTHENTICATED']));
    const clinician = await mine({ id: randomUUID(), roles: ['USER', 'CLINICIAN'] }, user.id);
    expect(clinician.errors).toBeUndefined();
    expect(clinician.data!._entities[0].current.version).toBe(1);
  });
});

describe('batching', () => {
  it('reads 2 and 20 users’ current plans, versions and cited entries with the same statements', async () => {
    const users = Array.from({ length: 20 }, () => consenting());
    for (const user of users) expect((await agent.gql<Data>(PROPOSE, {}, user)).errors).toBeUndefined();
    const clinician = { id: randomUUID(), roles: ['USER', 'CLINICIAN'] };
    const QUERY = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { id
      carePlan { version recommendations { source { __typename ... on Herb { id } } } } carePlans(first: 5) { edges { node { version syndromes { code } } } } } } }`;
    const count = async (n: number) => {
      const representations = users.slice(0, n).map((u) => ({ __typename: 'User', id: u.id }));
      const { result, statements } = await agent.countStatements(() => agent.gql<Data>(QUERY, { representations }, clinician));
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities).toHaveLength(n);
      for (const user of result.data!._entities) {
        expect(user.carePlan.version).toBe(1);
        expect(user.carePlan.recommendations.length).toBeGreaterThan(5);
        expect(user.carePlans.edges).toHaveLength(1);
      }
      return statements;
    };
    const two = await count(2);
    const twenty = await count(20);
    // carePlan, carePlans, and the audit INSERT: one each whatever the number of users.
    expect([two, twenty]).toEqual([3, 3]);
  });
});

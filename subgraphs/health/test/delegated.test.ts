import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthSummaryId, signDelegatedToken, type AgentAccessScope } from '@suoke/platform';
import { testJwt, testSigningKey } from '@suoke/platform/testing';
import { seedHealth } from '../src/seed.js';
import { startHealth, type Health } from './harness.js';

// Issue 20 on the health subgraph: a delegated token (the agent acting for one user, with their consent) reads that
// user's summary and profile facts only, each read audited with the user and the actor; `HealthSummary` entities
// (what a reply cites) resolve for their owner only, a batch in one statement.

let health: Health;
const owner = randomUUID();
const other = randomUUID();

beforeAll(async () => {
  health = await startHealth();
  await seedHealth(health.database, { userIds: [owner, other], days: 7 });
  await health.gql('mutation ($input: UpdateHealthProfileInput!) { updateHealthProfile(input: $input) { id } }', {
    input: { sex: 'FEMALE', birthDate: '1987-03-14', heightCm: 163.7, bloodType: 'AB_NEGATIVE', conditions: ['owner-free-text-condition'] },
  }, { id: owner });
});
afterAll(async () => {
  await health?.close();
});

function delegated(userId: string, scopes: AgentAccessScope[]) {
  return signDelegatedToken({ userId, scopes, grantVersion: '7' }, { key: testSigningKey('user'), issuer: testJwt.issuer, ttlSeconds: 90 }).then((t) => t.token);
}

const codes = (errors: Array<{ path?: (string | number)[]; extensions?: { code?: string } }> | undefined) =>
  Object.fromEntries((errors ?? []).map((e) => [(e.path ?? []).join('.'), e.extensions?.code]));

const SUMMARY = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { healthSummary(days: 7) { type count average } } } }`;
const PROFILE = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { healthProfile { id sex birthDate heightCm bloodType updatedAt } } } }`;
const user = (id: string) => ({ r: [{ __typename: 'User', id }] });

async function auditRows(requestFrom: Date) {
  return health.database.rows<{ actor: string; subject: string | null; resource: string; outcome: string; ids: string }>(sql`
    select actor, subject, resource, outcome, array_to_string(record_ids, ',') as ids
    from "health".audit_events where at >= ${requestFrom.toISOString()}::timestamptz order by at, resource`);
}

describe('a delegated token on the health subgraph', () => {
  it('reads its user\'s summary and profile facts with the granted scopes, audited with subject and actor', async () => {
    const token = await delegated(owner, ['HEALTH_SUMMARY', 'HEALTH_PROFILE']);
    const since = new Date(Date.now() - 1_000);
    const summary = await health.gql<any>(SUMMARY, user(owner), token);
    expect(summary.errors).toBeUndefined();
    expect(summary.data._entities[0].healthSummary.map((s: { type: string }) => s.type)).toEqual(['HEART_RATE', 'BLOOD_PRESSURE', 'SLEEP', 'STEPS', 'WEIGHT']);
    const profile = await health.gql<any>(PROFILE, user(owner), token);
    expect(profile.errors).toBeUndefined();
    expect(profile.data._entities[0].healthProfile).toMatchObject({ id: owner, sex: 'FEMALE', birthDate: '1987-03-14', heightCm: 163.7, bloodType: 'AB_NEGATIVE' });
    const rows = await auditRows(since);
    expect(rows.filter((r) => r.subject === owner).map((r) => [r.actor, r.resource, r.outcome, r.ids]).sort()).toEqual([
      ['service:agent', 'HealthProfile', 'ALLOWED', owner],
      ['service:agent', 'ObservationStat', 'ALLOWED', owner],
    ]);
  });

  it('reads nothing else: not the free-text conditions, observations, another user, an ungranted scope, the audit log or a write', async () => {
    const token = await delegated(owner, ['HEALTH_SUMMARY', 'HEALTH_PROFILE']);
    const conditions = await health.gql<any>(`query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { healthProfile { sex conditions } } } }`, user(owner), token);
    expect([conditions.data?._entities[0]?.healthProfile ?? null, codes(conditions.errors)]).toEqual([null, { '_entities.0.healthProfile.conditions': 'FORBIDDEN' }]);
    const observations = await health.gql<any>(`query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { observations(first: 5) { edges { node { id value } } } } } }`, user(owner), token);
    expect([observations.data?._entities[0]?.observations ?? null, codes(observations.errors)]).toEqual([null, { '_entities.0.observations': 'FORBIDDEN' }]);
    // Another user's data: the owner check refuses it (the token acts for its subject only).
    for (const query of [SUMMARY, PROFILE]) {
      const stolen = await health.gql<any>(query, user(other), token);
      expect(Object.values(codes(stolen.errors))).toEqual(['FORBIDDEN']);
      expect(JSON.stringify(stolen.data)).not.toMatch(/count|sex/);
    }
    const narrow = await delegated(owner, ['REPORTS']);
    for (const query of [SUMMARY, PROFILE]) expect(Object.values(codes((await health.gql<any>(query, user(owner), narrow)).errors))).toEqual(['FORBIDDEN']);
    const summaryOnly = await delegated(owner, ['HEALTH_SUMMARY']);
    expect(Object.values(codes((await health.gql<any>(PROFILE, user(owner), summaryOnly)).errors))).toEqual(['FORBIDDEN']);
    // An Observation or a HealthProfile by reference.
    const [obs] = await health.database.rows<{ id: string }>(sql`select id::text as id from "health".observations where user_id = ${owner}::uuid limit 1`);
    const byRef = await health.gql<any>(`query ($r: [_Any!]!) { _entities(representations: $r) { ... on Observation { id value } } }`, { r: [{ __typename: 'Observation', id: obs!.id }] }, token);
    expect([byRef.data?._entities, codes(byRef.errors)]).toEqual([[null], { '_entities.0': 'FORBIDDEN' }]);
    const audit = await health.gql<any>('{ healthAuditEvents(first: 5) { edges { node { id } } } }', {}, token);
    expect(codes(audit.errors)).toEqual({ healthAuditEvents: 'FORBIDDEN' });
    const write = await health.gql<any>(
      'mutation { recordObservations(input: [{ externalId: "agent-write", type: HEART_RATE, value: 70, recordedAt: "2026-01-01T00:00:00Z" }]) { inserted } }',
      {},
      token,
    );
    expect(codes(write.errors)).toEqual({ recordObservations: 'FORBIDDEN' });
    const profileWrite = await health.gql<any>('mutation { updateHealthProfile(input: { heightCm: 170 }) { id } }', {}, token);
    expect(codes(profileWrite.errors)).toEqual({ updateHealthProfile: 'FORBIDDEN' });
  });
});

describe('HealthSummary entities (citations)', () => {
  const to = new Date();
  const from = new Date(to.getTime() - 7 * 86_400_000);
  const ENTITIES = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on HealthSummary { id type from to stat { count average min max latest unit } } } }`;
  const refs = (userId: string, types: string[], windows = 1) =>
    types.flatMap((type) =>
      Array.from({ length: windows }, (_, i) => ({ __typename: 'HealthSummary', id: healthSummaryId({ userId, type, from: new Date(from.getTime() - i * 86_400_000), to }) })),
    );

  it('resolve for their owner, with the statistics of that type and window, a batch in one statement', async () => {
    const summary = await health.gql<any>('query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { healthSummary(days: 7) { type count average } } } }', user(owner), { id: owner });
    const byType = new Map(summary.data._entities[0].healthSummary.map((s: { type: string; count: number; average: number }) => [s.type, s]));
    const one = await health.countStatements(() => health.gql<any>(ENTITIES, { r: refs(owner, ['HEART_RATE']) }, { id: owner }));
    const many = await health.countStatements(() => health.gql<any>(ENTITIES, { r: refs(owner, ['HEART_RATE', 'BLOOD_PRESSURE', 'SLEEP', 'STEPS', 'WEIGHT'], 4) }, { id: owner }));
    expect(one.result.errors).toBeUndefined();
    expect(many.result.errors).toBeUndefined();
    const items = many.result.data._entities as Array<{ type: string; from: string; to: string; stat: { count: number; average: number; unit: string } | null }>;
    expect(items).toHaveLength(20);
    // The 7-day windows (every fourth) match the user's own 7-day summary.
    for (const item of items.filter((_, i) => i % 4 === 0)) {
      expect(item.stat?.count, item.type).toBe((byType.get(item.type) as { count: number }).count);
      expect(item.stat?.average).toBeCloseTo((byType.get(item.type) as { average: number }).average, 6);
      expect([item.from, item.to]).toEqual([from.toISOString(), to.toISOString()]);
    }
    // One statement for the statistics and one audit write, whether 1 or 20 items.
    expect(many.statements).toBe(one.statements);
    expect(one.statements).toBeLessThanOrEqual(2);
  });

  it('are readable by their owner only: another user, an admin and a service are refused; a malformed id is null without SQL', async () => {
    const admin = { id: randomUUID(), roles: ['ADMIN'] };
    for (const caller of [{ id: other }, admin]) {
      const stolen = await health.gql<any>(ENTITIES, { r: refs(owner, ['HEART_RATE']) }, caller);
      expect([stolen.data?._entities, codes(stolen.errors)]).toEqual([[null], { '_entities.0': 'FORBIDDEN' }]);
    }
    const anonymous = await health.gql<any>(ENTITIES, { r: refs(owner, ['HEART_RATE']) });
    expect(codes(anonymous.errors)).toEqual({ '_entities.0': 'UNAUTHENTICATED' });
    // The owner's delegated token with HEALTH_SUMMARY reads it (the agent checking what it cites); without, not.
    expect((await health.gql<any>(ENTITIES, { r: refs(owner, ['STEPS']) }, await delegated(owner, ['HEALTH_SUMMARY']))).data._entities[0].stat.count).toBeGreaterThan(0);
    expect(codes((await health.gql<any>(ENTITIES, { r: refs(owner, ['STEPS']) }, await delegated(owner, ['REPORTS']))).errors)).toEqual({ '_entities.0': 'FORBIDDEN' });
    const malformed = await health.countStatements(() =>
      health.gql<any>(ENTITIES, { r: [{ __typename: 'HealthSummary', id: 'nonsense' }, { __typename: 'HealthSummary', id: `${owner}~NOT_A_TYPE~${from.toISOString()}~${to.toISOString()}` },
        { __typename: 'HealthSummary', id: healthSummaryId({ userId: owner, type: 'STEPS', from: new Date(to.getTime() - 400 * 86_400_000), to }) },
      ] }, { id: owner }),
    );
    expect([malformed.result.data._entities, malformed.result.errors, malformed.statements]).toEqual([[null, null, null], undefined, 0]);
  });
});

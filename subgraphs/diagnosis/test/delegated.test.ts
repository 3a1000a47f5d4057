import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDelegatedToken, type AgentAccessScope } from '@suoke/platform';
import { testJwt, testSigningKey } from '@suoke/platform/testing';
import { seedDiagnosis } from '../src/seed.js';
import { startDiagnosis, type Diagnosis } from './harness.js';

// Issue 20 on the diagnosis subgraph: `DiagnosisReport` is an entity (what a reply cites) that resolves for its
// owner only, a batch in one statement; a delegated token with REPORTS reads its user's latest report and what a
// report holds, audited with the user and the actor, and nothing else.

let diagnosis: Diagnosis;
const userIds = Array.from({ length: 3 }, () => randomUUID());
const [owner, other] = userIds as [string, string, string];
let reports: Array<{ id: string; userId: string }> = [];

beforeAll(async () => {
  diagnosis = await startDiagnosis();
  await seedDiagnosis(diagnosis.database, { userIds });
  reports = await diagnosis.database.rows<{ id: string; userId: string }>(sql`select id::text as id, user_id::text as "userId" from "diagnosis".reports order by created_at`);
});
afterAll(async () => {
  await diagnosis?.close();
});

const delegated = (userId: string, scopes: AgentAccessScope[]) =>
  signDelegatedToken({ userId, scopes, grantVersion: '1' }, { key: testSigningKey('user'), issuer: testJwt.issuer, ttlSeconds: 90 }).then((t) => t.token);
const codes = (errors: Array<{ path?: (string | number)[]; extensions?: { code?: string } }> | undefined) =>
  Object.fromEntries((errors ?? []).map((e) => [(e.path ?? []).join('.'), e.extensions?.code]));
const REPORTS = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on DiagnosisReport { id confidence primaryConstitution { code } } } }`;

describe('DiagnosisReport entities (citations)', () => {
  it('resolve for their owner, a batch in one statement whatever its size', async () => {
    const own = reports.filter((r) => r.userId === owner);
    expect(own.length).toBeGreaterThanOrEqual(2);
    const one = await diagnosis.countStatements(() => diagnosis.gql<any>(REPORTS, { r: own.slice(0, 1).map((r) => ({ __typename: 'DiagnosisReport', id: r.id })) }, { id: owner }));
    const all = await diagnosis.countStatements(() => diagnosis.gql<any>(REPORTS, { r: own.map((r) => ({ __typename: 'DiagnosisReport', id: r.id })) }, { id: owner }));
    expect(all.result.errors).toBeUndefined();
    expect(all.result.data._entities.map((r: { id: string }) => r.id)).toEqual(own.map((r) => r.id));
    // One lookup and one audit write, for one report or all of them.
    expect([one.statements, all.statements]).toEqual([2, 2]);
  });

  it('are refused to anyone else (a clinician and an admin included); unknown ids are null', async () => {
    const ownReport = reports.find((r) => r.userId === owner)!;
    for (const caller of [{ id: other }, { id: randomUUID(), roles: ['USER', 'CLINICIAN'] }, { id: randomUUID(), roles: ['USER', 'ADMIN'] }]) {
      const stolen = await diagnosis.gql<any>(REPORTS, { r: [{ __typename: 'DiagnosisReport', id: ownReport.id }] }, caller);
      expect([stolen.data?._entities, codes(stolen.errors)]).toEqual([[null], { '_entities.0': 'FORBIDDEN' }]);
    }
    const unknown = await diagnosis.gql<any>(REPORTS, { r: [{ __typename: 'DiagnosisReport', id: randomUUID() }, { __typename: 'DiagnosisReport', id: 'nope' }] }, { id: owner });
    expect([unknown.data?._entities, unknown.errors]).toEqual([[null, null], undefined]);
  });
});

describe('a delegated token on the diagnosis subgraph', () => {
  const LATEST = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { latestReport { id confidence primaryConstitution { code } scores { score constitution { code } } findings { code constitutions { code } } } } } }`;

  it("reads its user's latest report with REPORTS, audited with subject and actor", async () => {
    const since = new Date();
    const read = await diagnosis.gql<any>(LATEST, { r: [{ __typename: 'User', id: owner }] }, await delegated(owner, ['REPORTS']));
    expect(read.errors).toBeUndefined();
    const latest = read.data._entities[0].latestReport;
    expect(reports.filter((r) => r.userId === owner).map((r) => r.id)).toContain(latest.id);
    const rows = await diagnosis.database.rows<{ actor: string; subject: string; resource: string; ids: string }>(sql`
      select actor, subject, resource, array_to_string(record_ids, ',') as ids from "diagnosis".audit_events where at >= ${since.toISOString()}::timestamptz`);
    expect(rows).toEqual([{ actor: 'service:agent', subject: owner, resource: 'DiagnosisReport', ids: latest.id }]);
  });

  it('reads nothing else: not without REPORTS, not another user, not consultations, the questionnaire or a write', async () => {
    const token = await delegated(owner, ['REPORTS']);
    const narrow = await diagnosis.gql<any>(LATEST, { r: [{ __typename: 'User', id: owner }] }, await delegated(owner, ['HEALTH_SUMMARY', 'HEALTH_PROFILE']));
    expect(codes(narrow.errors)).toEqual({ '_entities.0.latestReport': 'FORBIDDEN' });
    const stolen = await diagnosis.gql<any>(LATEST, { r: [{ __typename: 'User', id: other }] }, token);
    expect(codes(stolen.errors)).toEqual({ '_entities.0.latestReport': 'FORBIDDEN' });
    const consultations = await diagnosis.gql<any>(`query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { consultations(first: 5) { edges { node { id } } } } } }`, { r: [{ __typename: 'User', id: owner }] }, token);
    expect(codes(consultations.errors)).toEqual({ '_entities.0.consultations': 'FORBIDDEN' });
    const [consultation] = await diagnosis.database.rows<{ id: string }>(sql`select id::text as id from "diagnosis".consultations where user_id = ${owner}::uuid limit 1`);
    const byRef = await diagnosis.gql<any>(`query ($r: [_Any!]!) { _entities(representations: $r) { ... on Consultation { id status } } }`, { r: [{ __typename: 'Consultation', id: consultation!.id }] }, token);
    expect([byRef.data?._entities, codes(byRef.errors)]).toEqual([[null], { '_entities.0': 'FORBIDDEN' }]);
    for (const [query, field] of [
      ['{ constitutionQuestionnaire { id } }', 'constitutionQuestionnaire'],
      [`{ consultation(id: "${consultation!.id}") { id } }`, 'consultation'],
      ['{ diagnosisAuditEvents(first: 1) { edges { node { id } } } }', 'diagnosisAuditEvents'],
      ['mutation { startConsultation { id } }', 'startConsultation'],
    ] as const) {
      expect(codes((await diagnosis.gql<any>(query, {}, token)).errors), query).toEqual({ [field]: 'FORBIDDEN' });
    }
  });
});

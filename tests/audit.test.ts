import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '@suoke/platform';
import { TEST_GATEWAY_SECRET, testToken } from '@suoke/platform/testing';
import { startDiagnosis, type GraphQLResponse } from '../subgraphs/diagnosis/test/harness.js';
import { startHealth } from '../subgraphs/health/test/harness.js';

/**
 * The audit log of the PHI subgraphs, checked subgraph by subgraph over HTTP
 * as the gateway calls them (the gateway adds nothing to auditing; each
 * subgraph writes its own log). Rows are read straight from the table.
 */
interface AuditRow {
  actor: string;
  action: string;
  resource: string;
  record_ids: string[];
  outcome: string;
  reason: string | null;
  trace_id: string | null;
  request_id: string | null;
}

async function auditRows(database: Database, schema: string, actor?: string): Promise<AuditRow[]> {
  const rows = await database.rows<Omit<AuditRow, 'record_ids'> & { record_ids: string }>(sql`
    select actor, action, resource, to_json(record_ids)::text as record_ids, outcome, reason, trace_id, request_id
    from ${sql.identifier(schema)}.audit_events
    where ${actor ?? null}::text is null or actor = ${actor ?? null}::text
    order by at, id`);
  return rows.map((row) => ({ ...row, record_ids: JSON.parse(row.record_ids) as string[] }));
}

const OBSERVATIONS = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on User { observations(first: 10) { edges { node { id value } } } }
    }
  }
`;

describe('audit log: health', () => {
  let health: Awaited<ReturnType<typeof startHealth>>;
  const alice = { id: randomUUID() };
  const bob = { id: randomUUID() };
  const admin = { id: randomUUID(), roles: ['ADMIN'] };
  let recorded: string[] = [];

  beforeAll(async () => {
    health = await startHealth();
  });
  afterAll(async () => {
    await health?.close();
  });

  it('audits a write and a read of observations as one event each, with the ids and without the values', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const input = [
      { externalId: 'audit-secret-ext-1', type: 'HEART_RATE', value: 187.25, recordedAt: new Date(Date.now() - 60_000).toISOString() },
      { externalId: 'audit-secret-ext-2', type: 'BODY_TEMPERATURE', value: 39.125, recordedAt: new Date(Date.now() - 120_000).toISOString() },
    ];
    const write = await health.gql<{ recordObservations: { observations: Array<{ id: string }> } }>(
      `mutation ($input: [ObservationInput!]!) { recordObservations(input: $input) { observations { id } } }`,
      { input },
      alice,
    );
    expect(write.errors).toBeUndefined();
    recorded = write.data!.recordObservations.observations.map((o) => o.id);

    // A read of the two, through the entity path the gateway uses, with a trace context as the gateway sends it.
    const response = await fetch(health.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gateway-secret': TEST_GATEWAY_SECRET,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        authorization: `Bearer ${await testToken(alice)}`,
      },
      body: JSON.stringify({ query: OBSERVATIONS, variables: { representations: [{ __typename: 'User', id: alice.id }] } }),
    });
    const read = (await response.json()) as GraphQLResponse<{ _entities: Array<{ observations: { edges: Array<{ node: { id: string } }> } }> }>;
    expect(read.errors).toBeUndefined();
    expect(read.data!._entities[0]!.observations.edges.map((e) => e.node.id).sort()).toEqual([...recorded].sort());

    const rows = await auditRows(health.database, 'health', alice.id);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ action: 'WRITE', resource: 'Observation', outcome: 'ALLOWED', reason: null });
    expect(rows[0]!.record_ids.sort()).toEqual([...recorded].sort());
    expect(rows[1]).toMatchObject({ action: 'READ', resource: 'Observation', outcome: 'ALLOWED', trace_id: traceId, request_id: response.headers.get('x-request-id') });
    expect(rows[1]!.record_ids.sort()).toEqual([...recorded].sort());

    // Nothing sent but the ids reaches the log: not the values, not the client's external ids.
    const dump = (await health.database.rows<{ t: string }>(sql`select coalesce(string_agg(row_to_json(a)::text, ' '), '') as t from "health".audit_events a`))[0]!.t;
    for (const secret of ['187.25', '39.125', 'audit-secret-ext', 'HEART_RATE', 'BODY_TEMPERATURE']) expect(dump).not.toContain(secret);
  });

  it('writes the events of one request in one statement, however many records it read', async () => {
    const { statements } = await health.countStatements(() =>
      health.gql(OBSERVATIONS, { representations: [{ __typename: 'User', id: alice.id }] }, alice),
    );
    // One page query (observationPage loader) + one audit INSERT.
    expect(statements).toBe(2);
  });

  it('audits a refused read of another user’s observations as DENIED, naming whose data was asked for', async () => {
    const denied = await health.gql(OBSERVATIONS, { representations: [{ __typename: 'User', id: alice.id }] }, bob);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const refusedRef = await health.gql(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Observation { value } } }`,
      { representations: [{ __typename: 'Observation', id: recorded[0] }] },
      bob,
    );
    expect(refusedRef.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const anonymous = await health.gql(OBSERVATIONS, { representations: [{ __typename: 'User', id: alice.id }] }, undefined);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    expect(await auditRows(health.database, 'health', bob.id)).toEqual([
      expect.objectContaining({ action: 'READ', resource: 'Observation', record_ids: [alice.id], outcome: 'DENIED', reason: 'FORBIDDEN' }),
      expect.objectContaining({ action: 'READ', resource: 'Observation', record_ids: [recorded[0]], outcome: 'DENIED', reason: 'FORBIDDEN' }),
    ]);
    expect(await auditRows(health.database, 'health', 'anonymous')).toEqual([
      expect.objectContaining({ resource: 'Observation', record_ids: [alice.id], outcome: 'DENIED', reason: 'UNAUTHENTICATED' }),
    ]);
  });

  it('lets an ADMIN page through healthAuditEvents and refuses a USER (auditing the refusal)', async () => {
    const PAGE = /* GraphQL */ `
      query ($after: String, $actorId: String) {
        healthAuditEvents(first: 2, after: $after, actorId: $actorId) {
          edges { cursor node { id at actor action resource recordIds outcome reason traceId requestId } }
          pageInfo { hasNextPage endCursor }
        }
      }
    `;
    const total = (await auditRows(health.database, 'health')).length;
    type Page = { healthAuditEvents: { edges: Array<{ node: { id: string; at: string; actor: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    const seen: Array<{ id: string; at: string; actor: string }> = [];
    let after: string | null = null;
    for (let pages = 0; pages < 20; pages += 1) {
      const page: GraphQLResponse<Page> = await health.gql<Page>(PAGE, { after }, admin);
      expect(page.errors).toBeUndefined();
      seen.push(...page.data!.healthAuditEvents.edges.map((e) => e.node));
      if (!page.data!.healthAuditEvents.pageInfo.hasNextPage) break;
      after = page.data!.healthAuditEvents.pageInfo.endCursor;
    }
    // Each page read is itself audited, newer than anything paged: the walk sees the first page's newest event onward.
    expect(seen.length).toBeGreaterThanOrEqual(total);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(seen.map((e) => e.at)).toEqual([...seen.map((e) => e.at)].sort().reverse());
    expect(seen.filter((e) => e.actor === bob.id)).toHaveLength(2);

    const onlyBob = await health.gql<Page>(PAGE, { actorId: bob.id }, admin);
    expect(onlyBob.data!.healthAuditEvents.edges.map((e) => e.node.actor)).toEqual([bob.id, bob.id]);

    const refused = await health.gql(PAGE, {}, alice);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(refused.data?.healthAuditEvents).toBeNull();
    expect((await auditRows(health.database, 'health', alice.id)).at(-1)).toMatchObject({ resource: 'AuditEvent', outcome: 'DENIED', reason: 'FORBIDDEN' });
    const adminReads = await auditRows(health.database, 'health', admin.id);
    expect(adminReads.every((row) => row.resource === 'AuditEvent' && row.action === 'READ' && row.outcome === 'ALLOWED')).toBe(true);
  });

  it('refuses UPDATE and DELETE of audit events', async () => {
    for (const statement of [`update "health".audit_events set outcome = 'ALLOWED'`, `delete from "health".audit_events`]) {
      const error = await health.database.rows(sql.raw(statement)).then(() => undefined, (e: Error & { cause?: Error }) => e);
      expect(error?.cause?.message ?? error?.message, statement).toMatch(/append-only/);
    }
  });
});

describe('audit log: diagnosis', () => {
  let diagnosis: Awaited<ReturnType<typeof startDiagnosis>>;
  const owner = { id: randomUUID() };
  const other = { id: randomUUID() };

  beforeAll(async () => {
    diagnosis = await startDiagnosis();
  });
  afterAll(async () => {
    await diagnosis?.close();
  });

  it('audits starting and reading a consultation, and another user’s attempt (answered NOT_FOUND) as DENIED', async () => {
    const started = await diagnosis.gql<{ startConsultation: { id: string } }>(`mutation { startConsultation { id } }`, {}, owner);
    const id = started.data!.startConsultation.id;
    const read = await diagnosis.gql(`query ($id: ID!) { consultation(id: $id) { id status } }`, { id }, owner);
    expect(read.errors).toBeUndefined();
    const foreign = await diagnosis.gql(`query ($id: ID!) { consultation(id: $id) { id } }`, { id }, other);
    expect(foreign.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    expect(await auditRows(diagnosis.database, 'diagnosis', owner.id)).toEqual([
      expect.objectContaining({ action: 'WRITE', resource: 'Consultation', record_ids: [id], outcome: 'ALLOWED' }),
      expect.objectContaining({ action: 'READ', resource: 'Consultation', record_ids: [id], outcome: 'ALLOWED' }),
    ]);
    expect(await auditRows(diagnosis.database, 'diagnosis', other.id)).toEqual([
      expect.objectContaining({ action: 'READ', resource: 'Consultation', record_ids: [id], outcome: 'DENIED', reason: 'NOT_OWNER' }),
    ]);
  });

  it('refuses diagnosisAuditEvents to a USER', async () => {
    const refused = await diagnosis.gql(`{ diagnosisAuditEvents { edges { node { id } } } }`, {}, owner);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSchema, parse, type OperationDefinitionNode } from 'graphql';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, AuditCollector, currentTraceId, fieldAtPath, selectAuditEvents, writeAuditEvents } from '../../src/audit/index.js';
import { runMigrations } from '../../src/migrate.js';
import { sqlStats } from '../../src/request-context.js';
import { createTestDatabase, type TestDatabase } from '../../src/testing.js';

const USER = '0b7c4a52-1a6e-4d1c-9d51-2f1f0c9a1e01';
const ids = (n: number, prefix = 'a') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);

describe('AuditCollector', () => {
  it('groups accesses by action, resource, outcome and reason, keeping each id once in first-seen order', () => {
    const audit = new AuditCollector({ id: USER, roles: ['USER'], scopes: [] }, 'req-1', undefined);
    audit.record({ action: 'READ', resource: 'Observation', ids: ['o1', 'o2'] });
    audit.record({ action: 'READ', resource: 'Observation', ids: ['o2', 'o3'] });
    audit.record({ action: 'WRITE', resource: 'Observation', ids: ['o9'] });
    audit.deny({ resource: 'Observation', reason: 'FORBIDDEN', ids: ['u2'] });
    audit.deny({ resource: 'Observation', reason: 'FORBIDDEN', ids: ['u3'] });
    audit.deny({ resource: 'Observation', reason: 'UNAUTHENTICATED' });
    // An empty page disclosed nothing: no event, while a refusal is kept even without ids.
    audit.record({ action: 'READ', resource: 'Consultation', ids: [] });
    expect(audit.actor).toBe(USER);
    expect(audit.events()).toEqual([
      { action: 'READ', resource: 'Observation', outcome: 'ALLOWED', reason: null, ids: ['o1', 'o2', 'o3'] },
      { action: 'WRITE', resource: 'Observation', outcome: 'ALLOWED', reason: null, ids: ['o9'] },
      { action: 'READ', resource: 'Observation', outcome: 'DENIED', reason: 'FORBIDDEN', ids: ['u2', 'u3'] },
      { action: 'READ', resource: 'Observation', outcome: 'DENIED', reason: 'UNAUTHENTICATED', ids: [] },
    ]);
  });

  it('names anonymous callers and service credentials as such', () => {
    expect(new AuditCollector(undefined, 'r', undefined).actor).toBe('anonymous');
    expect(new AuditCollector({ id: 'service:diagnosis', roles: ['SERVICE'], scopes: [] }, 'r', undefined).actor).toBe('service:diagnosis');
  });
});

describe('currentTraceId', () => {
  it('reads the trace id of a W3C traceparent when no span is active, and refuses malformed or all-zero ones', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    expect(currentTraceId(`00-${traceId}-00f067aa0ba902b7-01`)).toBe(traceId);
    expect(currentTraceId(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBeUndefined();
    expect(currentTraceId('not-a-traceparent')).toBeUndefined();
    expect(currentTraceId(undefined)).toBeUndefined();
  });
});

describe('fieldAtPath', () => {
  const schema = buildSchema(`
    type Query { _entities(representations: [String!]!): [E]! me: User consultation(id: ID!): Obs }
    union E = User | Obs
    type User { id: ID! observations(first: Int): [Obs!] }
    type Obs { id: ID! value: Float! }
  `);
  const op = (text: string) => {
    const document = parse(text);
    return { document, operation: document.definitions.find((d) => d.kind === 'OperationDefinition') as OperationDefinitionNode };
  };

  it('follows aliases and fragments to the refused field, with its arguments', () => {
    const { document, operation } = op(`query Q($id: ID!) { mine: me { ...F } c: consultation(id: $id) { id } } fragment F on User { obs: observations(first: 2) { id } }`);
    expect(fieldAtPath(schema, operation, document, { id: 'c-1' }, ['mine', 'obs'])).toEqual({ typeName: 'User', fieldName: 'observations', args: { first: 2 } });
    expect(fieldAtPath(schema, operation, document, { id: 'c-1' }, ['c'])).toEqual({ typeName: 'Query', fieldName: 'consultation', args: { id: 'c-1' } });
    expect(fieldAtPath(schema, operation, document, {}, ['nope'])).toBeUndefined();
  });

  it('takes the concrete type and id of an _entities path from the representation at that index', () => {
    const { document, operation } = op(`query($representations: [String!]!) { _entities(representations: $representations) { ... on User { observations { id } } ... on Obs { value } } }`);
    const representations = [{ __typename: 'Obs', id: 'o-1' }, { __typename: 'User', id: 'u-2' }];
    expect(fieldAtPath(schema, operation, document, { representations }, ['_entities', 0])).toEqual({ typeName: 'Obs', entity: representations[0] });
    expect(fieldAtPath(schema, operation, document, { representations }, ['_entities', 1, 'observations'])).toMatchObject({
      typeName: 'User',
      fieldName: 'observations',
      entity: representations[1],
    });
  });
});

describe('writeAuditEvents and selectAuditEvents', () => {
  let testDb: TestDatabase;
  let noSubgraphFiles: string;
  beforeAll(async () => {
    testDb = await createTestDatabase('audit');
    // The audit feature's migrations, applied to a schema of this test's own.
    noSubgraphFiles = await mkdtemp(path.join(tmpdir(), 'suoke-audit-'));
    await runMigrations(testDb.database, 'audit_t', noSubgraphFiles, [audit]);
  });
  afterAll(async () => {
    await testDb?.drop();
    if (noSubgraphFiles) await rm(noSubgraphFiles, { recursive: true, force: true });
  });

  it('writes a request of any size as one statement, and nothing at all for a request with no access', async () => {
    const { database } = testDb;
    const empty = new AuditCollector(undefined, 'req-0', undefined);
    let before = sqlStats.statements;
    expect(await writeAuditEvents(database, 'audit_t', empty)).toBe(0);
    expect(sqlStats.statements - before).toBe(0);

    for (const size of [1, 500]) {
      const audit = new AuditCollector({ id: USER, roles: ['USER'], scopes: [] }, `req-${size}`, '4bf92f3577b34da6a3ce929d0e0e4736');
      audit.record({ action: 'READ', resource: 'Observation', ids: ids(size) });
      audit.record({ action: 'WRITE', resource: 'HealthProfile', ids: [USER] });
      audit.deny({ resource: 'Observation', reason: 'FORBIDDEN', ids: ['someone'] });
      before = sqlStats.statements;
      expect(await writeAuditEvents(database, 'audit_t', audit)).toBe(3);
      expect(sqlStats.statements - before).toBe(1);
    }
    const rows = await database.rows<{ actor: string; n: number; outcome: string; trace_id: string }>(
      sql`select actor, cardinality(record_ids) as n, outcome, trace_id from "audit_t".audit_events where request_id = 'req-500' order by outcome, n`,
    );
    expect(rows).toEqual([
      { actor: USER, n: 1, outcome: 'ALLOWED', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
      { actor: USER, n: 500, outcome: 'ALLOWED', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
      { actor: USER, n: 1, outcome: 'DENIED', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' },
    ]);
  });

  it('pages newest first with exact keyset cursors, optionally for one actor', async () => {
    const { database } = testDb;
    const all = await selectAuditEvents(database, 'audit_t', { first: 100 });
    expect(all.edges).toHaveLength(6);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await selectAuditEvents(database, 'audit_t', { first: 4, after });
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.edges.map((e) => e.node.id));
    const ats = all.edges.map((e) => e.node.at);
    expect([...ats].sort().reverse()).toEqual(ats);
    expect(all.edges.find((e) => e.node.recordIds.length === 500)?.node).toMatchObject({ resource: 'Observation', action: 'READ', outcome: 'ALLOWED', reason: null });
    expect((await selectAuditEvents(database, 'audit_t', { actorId: 'anonymous' })).edges).toHaveLength(0);
    await expect(selectAuditEvents(database, 'audit_t', { after: 'bm9wZQ' })).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('refuses UPDATE, DELETE and TRUNCATE of audit_events, even of no row', async () => {
    const { database } = testDb;
    for (const statement of [
      `update "audit_t".audit_events set actor = 'someone else'`,
      `delete from "audit_t".audit_events`,
      `delete from "audit_t".audit_events where false`,
      `truncate "audit_t".audit_events`,
    ]) {
      // drizzle wraps the driver's error: the trigger's message is its cause.
      const error = await database.rows(sql.raw(statement)).then(() => undefined, (e: Error & { cause?: Error }) => e);
      expect(error?.cause?.message ?? error?.message, statement).toMatch(/append-only: (UPDATE|DELETE|TRUNCATE) refused/);
    }
    expect((await selectAuditEvents(database, 'audit_t', { first: 100 })).edges).toHaveLength(6);
  });
});

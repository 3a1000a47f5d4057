import { randomUUID } from 'node:crypto';
import { asc, sql } from 'drizzle-orm';
import { encodeCursor, sqlStats } from '@suoke/platform';
import { testToken } from '@suoke/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from '../src/db/schema.js';
import { codesByPath, register, startUserSubgraph, type Tokens, type UserHarness } from './harness.js';

let h: UserHarness;
let alice: Tokens;
let bob: Tokens;
let adminToken: string;

/** Accounts written straight to the table: the pagination and batching tests need many, and scrypt is slow. */
async function insertUsers(count: number, prefix: string, oneStatement: boolean): Promise<string[]> {
  const rows = Array.from({ length: count }, (_, i) => ({
    email: `${prefix}${i}@example.com`,
    passwordHash: 'scrypt$not-a-real-hash',
    displayName: `${prefix} ${i}`,
    locale: 'zh-CN',
    roles: ['USER' as const],
  }));
  if (oneStatement) return (await h.testDb.database.db.insert(users).values(rows).returning({ id: users.id })).map((r) => r.id);
  const ids: string[] = [];
  for (const row of rows) ids.push((await h.testDb.database.db.insert(users).values(row).returning({ id: users.id }))[0]!.id);
  return ids;
}

async function allIds(): Promise<string[]> {
  return (await h.testDb.database.db.select({ id: users.id }).from(users).orderBy(asc(users.createdAt), asc(users.id))).map((r) => r.id);
}

beforeAll(async () => {
  h = await startUserSubgraph();
  alice = await register(h, 'alice@example.com', 'Alice');
  bob = await register(h, 'bob@example.com', 'Bob');
  await insertUsers(5, 'member', false);
  adminToken = await testToken({ id: randomUUID(), roles: ['ADMIN'] });
});

afterAll(async () => {
  await h?.close();
});

const USERS = 'query($first: Int, $after: String) { users(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id displayName email } } } }';

interface UsersPage {
  users: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: Array<{ cursor: string; node: { id: string; displayName: string; email: string | null } }>;
  } | null;
}

describe('users connection', () => {
  it('is FORBIDDEN for a USER token, while other root fields of the operation resolve', async () => {
    const res = await h.gql<UsersPage & { me: { id: string } }>('{ users(first: 3) { totalCount } me { id } }', undefined, alice.accessToken);
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ users: null, me: { id: alice.user.id } });
    expect(codesByPath(res.errors)).toEqual({ users: 'FORBIDDEN' });
  });

  it('is UNAUTHENTICATED for an anonymous request', async () => {
    const res = await h.gql<UsersPage>('{ users { totalCount } me { id } }');
    expect(res.data).toEqual({ users: null, me: null });
    expect(codesByPath(res.errors)).toEqual({ users: 'UNAUTHENTICATED' });
  });

  it('pages an ADMIN through every account exactly once, oldest first', async () => {
    const expected = await allIds();
    expect(expected).toHaveLength(7);
    const seen: string[] = [];
    const hasNext: boolean[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const res: Awaited<ReturnType<typeof h.gql<UsersPage>>> = await h.gql<UsersPage>(USERS, { first: 3, after }, adminToken);
      expect(res.errors).toBeUndefined();
      const connection = res.data!.users!;
      expect(connection.totalCount).toBe(7);
      expect(connection.edges.length).toBeLessThanOrEqual(3);
      seen.push(...connection.edges.map((e) => e.node.id));
      hasNext.push(connection.pageInfo.hasNextPage);
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)?.cursor ?? null);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
    expect(new Set(seen).size).toBe(seen.length);
    expect(hasNext).toEqual([true, true, false]);
  });

  it('shows emails to an ADMIN', async () => {
    const res = await h.gql<UsersPage>(USERS, { first: 2 }, adminToken);
    expect(res.data!.users!.edges.map((e) => e.node.email)).toEqual(['alice@example.com', 'bob@example.com']);
  });

  it('pages correctly when created_at has microseconds (PostgreSQL now() does; PGlite only keeps milliseconds)', async () => {
    // Two accounts share one instant, so the id tie-break is exercised too.
    for (const [i, at] of ['2030-01-01T00:00:00.100001Z', '2030-01-01T00:00:00.200002Z', '2030-01-01T00:00:00.200002Z', '2030-01-01T00:00:00.300999Z'].entries()) {
      await h.testDb.database.rows(
        sql`insert into "user".users (email, password_hash, display_name, created_at) values (${`micro${i}@example.com`}, 'x', ${`micro ${i}`}, ${at}::timestamptz) returning id`,
      );
    }
    const expected = await allIds();
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page += 1) {
      const res: Awaited<ReturnType<typeof h.gql<UsersPage>>> = await h.gql<UsersPage>(USERS, { first: 2, after }, adminToken);
      expect(res.errors).toBeUndefined();
      const connection = res.data!.users!;
      seen.push(...connection.edges.map((e) => e.node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
  });

  it.each([0, 101, -5])('refuses first: %s with BAD_USER_INPUT on first', async (first) => {
    const res = await h.gql<UsersPage>(USERS, { first }, adminToken);
    expect(res.data).toEqual({ users: null });
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
  });

  it('refuses a cursor that is not one of its own with BAD_USER_INPUT on after', async () => {
    const res = await h.gql<UsersPage>(USERS, { first: 3, after: 'not-a-cursor' }, adminToken);
    expect(res.data).toEqual({ users: null });
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('refuses a well-formed cursor with a forged key with BAD_USER_INPUT, not a database error', async () => {
    // Cursors are opaque but client-controlled: a two-part key whose parts are not a timestamp and a UUID.
    const forged = encodeCursor(['yesterday', 'not-a-uuid']);
    const res = await h.gql<UsersPage>(USERS, { first: 3, after: forged }, adminToken);
    expect(res.data).toEqual({ users: null });
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('issues one SQL statement for a page when totalCount is not selected, two when it is', async () => {
    const count = async (query: string) => {
      const before = sqlStats.statements;
      const res = await h.gql(query, undefined, adminToken);
      expect(res.errors).toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 50));
      return sqlStats.statements - before;
    };
    expect(await count('{ users(first: 3) { totalCount edges { node { id } } } }')).toBe(2);
    expect(await count('{ users(first: 3) { edges { node { id } } } }')).toBe(1);
  });
});

describe('User entities', () => {
  const ENTITIES = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id displayName email } } }';
  const entity = async (token?: string) => {
    const res = await h.gql<{ _entities: Array<{ id: string; displayName: string; email: string | null } | null> }>(
      ENTITIES,
      { r: [{ __typename: 'User', id: alice.user.id }] },
      token,
    );
    return { entity: res.data?._entities[0], codes: codesByPath(res.errors) };
  };

  it("hides another user's email from a USER (null, no error) but resolves the rest", async () => {
    expect(await entity(bob.accessToken)).toEqual({ entity: { id: alice.user.id, displayName: 'Alice', email: null }, codes: {} });
  });

  it('shows the email to its owner and to an ADMIN', async () => {
    expect((await entity(alice.accessToken)).entity?.email).toBe('alice@example.com');
    expect((await entity(adminToken)).entity?.email).toBe('alice@example.com');
  });

  it('hides email from an anonymous request (null, no error) while displayName resolves', async () => {
    expect(await entity()).toEqual({ entity: { id: alice.user.id, displayName: 'Alice', email: null }, codes: {} });
  });

  it('returns entities aligned with the representations, null for an unknown id', async () => {
    const missing = randomUUID();
    const res = await h.gql<{ _entities: Array<{ id: string } | null> }>(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }',
      { r: [bob.user.id, missing, alice.user.id, bob.user.id].map((id) => ({ __typename: 'User', id })) },
      adminToken,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?._entities).toEqual([{ id: bob.user.id }, null, { id: alice.user.id }, { id: bob.user.id }]);
  });

  it('resolves the valid references of a batch even when one id is not a UUID', async () => {
    const res = await h.gql<{ _entities: Array<{ id: string } | null> }>(
      'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }',
      { r: [alice.user.id, 'not-a-uuid', bob.user.id].map((id) => ({ __typename: 'User', id })) },
      adminToken,
    );
    expect(res.data?._entities).toEqual([{ id: alice.user.id }, null, { id: bob.user.id }]);
    expect(JSON.stringify(res.errors ?? [])).not.toContain('INTERNAL_SERVER_ERROR');
  });

  it('resolves 5 and 50 references with the same number of SQL statements (one batch)', async () => {
    const many = await insertUsers(50, 'batch', true);
    const statementsFor = async (ids: string[]) => {
      const before = sqlStats.statements;
      const res = await h.gql<{ _entities: Array<{ displayName: string } | null> }>(
        'query($r: [_Any!]!) { _entities(representations: $r) { ... on User { displayName } } }',
        { r: ids.map((id) => ({ __typename: 'User', id })) },
        adminToken,
      );
      expect(res.errors).toBeUndefined();
      expect(res.data?._entities.map((e) => e?.displayName)).toEqual(ids.map((id) => `batch ${many.indexOf(id)}`));
      return sqlStats.statements - before;
    };
    const five = await statementsFor(many.slice(0, 5));
    const fifty = await statementsFor(many);
    expect(fifty).toBe(five);
    expect(five).toBe(1);
  });
});

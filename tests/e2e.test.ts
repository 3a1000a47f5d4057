import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlStats } from '@suoke/platform';
import { testJwt, testToken } from '@suoke/platform/testing';
import { SignJWT } from 'jose';
import { seedHealth } from '../subgraphs/health/src/seed.js';
import { seedUsers } from '../subgraphs/user/src/seed.js';
import { codes, startStack, type Stack } from './harness.js';

const PASSWORD = 'correct-horse-battery';
const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id email displayName } } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken user { id } } }`;
const RECORD = `mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted duplicates } }`;
const HOME = `query {
  me {
    displayName
    healthSummary(days: 7) { type count average }
    observations(first: 50) { edges { node { type value recordedAt } } }
  }
}`;

let stack: Stack;
beforeAll(async () => {
  // No field usage flushes (every USAGE_FLUSH_MS): their statements would land in the process-wide statement counts below.
  stack = await startStack({ gatewayEnv: { USAGE_RECORDING: 'off' } });
});
afterAll(async () => {
  await stack?.stop();
});

function hoursAgo(hours: number): string {
  return new Date(Date.now() - hours * 3_600_000).toISOString();
}

describe('the main path through the gateway', () => {
  it('register → login → record observations → home query', async () => {
    const registered = await stack.query(REGISTER, { input: { email: 'Lin.Mei@Example.com', password: PASSWORD, displayName: '林梅' } });
    expect(registered.errors).toBeUndefined();
    expect(registered.data?.register.user.email).toBe('lin.mei@example.com');

    const login = await stack.query(LOGIN, { input: { email: 'lin.mei@example.com', password: PASSWORD } });
    expect(login.errors).toBeUndefined();
    const token: string = login.data?.login.accessToken;

    const batch = [
      { externalId: 'hr-1', type: 'HEART_RATE', value: 64, recordedAt: hoursAgo(30) },
      { externalId: 'hr-2', type: 'HEART_RATE', value: 80, recordedAt: hoursAgo(5) },
      { externalId: 'bp-1', type: 'BLOOD_PRESSURE', value: 118, diastolic: 76, recordedAt: hoursAgo(4) },
      { externalId: 'steps-1', type: 'STEPS', value: 8421, recordedAt: hoursAgo(2) },
    ];
    const recorded = await stack.query(RECORD, { input: batch }, token);
    expect(recorded.errors).toBeUndefined();
    expect(recorded.data?.recordObservations).toEqual({ inserted: 4, duplicates: 0 });

    const home = await stack.query(HOME, {}, token);
    expect(home.errors).toBeUndefined();
    expect(home.data?.me.displayName).toBe('林梅');
    const heart = home.data?.me.healthSummary.find((s: { type: string }) => s.type === 'HEART_RATE');
    expect(heart).toEqual({ type: 'HEART_RATE', count: 2, average: 72 });
    const nodes = home.data?.me.observations.edges.map((e: { node: unknown }) => e.node);
    expect(nodes).toHaveLength(4);
    expect(nodes[0]).toMatchObject({ type: 'STEPS', value: 8421 });
  });
});

describe('negative cases through the gateway', () => {
  let token: string;
  let userId: string;
  beforeAll(async () => {
    const registered = await stack.query(REGISTER, { input: { email: 'neg@example.com', password: PASSWORD, displayName: 'Neg' } });
    token = registered.data?.register.accessToken;
    userId = registered.data?.register.user.id;
  });

  it('no token on a protected field: that field is null with UNAUTHENTICATED', async () => {
    const response = await stack.query(`mutation { recordObservations(input: [{ externalId: "x", type: STEPS, value: 1, recordedAt: "${hoursAgo(1)}" }]) { inserted } }`);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    const anonymousMe = await stack.query('{ me { id } }');
    expect(anonymousMe.errors).toBeUndefined();
    expect(anonymousMe.data?.me).toBeNull();
  });

  it('an expired token is rejected at the edge with 401 UNAUTHENTICATED', async () => {
    const expired = await testToken({ id: userId }, { ttlSeconds: -60 });
    const response = await stack.query('{ me { id } }', {}, expired);
    expect(response.status).toBe(401);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.data ?? null).toBeNull();
  });

  it('a tampered token is rejected', async () => {
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.roles = ['ADMIN'];
    claims.scope = `${claims.scope} users:read`;
    const forged = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
    const response = await stack.query('{ users(first: 5) { edges { node { id } } } }', {}, forged);
    expect(response.status).toBe(401);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  });

  it('a token signed with another key, and one with alg none, are rejected', async () => {
    const other = await new SignJWT({ roles: ['USER'], scope: 'health:read' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuer(testJwt.issuer)
      .setAudience(testJwt.audience)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('another-key-another-key-another-key-123'));
    expect(codes(await stack.query('{ me { id } }', {}, other))).toEqual(['UNAUTHENTICATED']);
    const none = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
      Buffer.from(JSON.stringify({ sub: userId, iss: testJwt.issuer, aud: testJwt.audience, exp: Math.floor(Date.now() / 1000) + 300 })).toString('base64url'),
      '',
    ].join('.');
    expect(codes(await stack.query('{ me { id } }', {}, none))).toEqual(['UNAUTHENTICATED']);
  });

  it("another user's data is never returned (FORBIDDEN)", async () => {
    const other = await stack.query(REGISTER, { input: { email: 'other@example.com', password: PASSWORD, displayName: 'Other' } });
    const otherId: string = other.data?.register.user.id;
    await stack.query(RECORD, { input: [{ externalId: 'o-1', type: 'WEIGHT', value: 61.5, recordedAt: hoursAgo(1) }] }, other.data?.register.accessToken);
    // A USER token reaching another account's health data (the only route through the gateway is an admin list).
    const response = await stack.query('{ users(first: 10) { edges { node { id healthSummary(days: 7) { type } } } } }', {}, token);
    expect(codes(response)).toContain('FORBIDDEN');
    expect(JSON.stringify(response.data)).not.toContain(otherId);
    expect(JSON.stringify(response.data)).not.toContain('WEIGHT');
  });

  it('an out-of-range observation is BAD_USER_INPUT naming the item, and nothing of the batch is stored', async () => {
    const response = await stack.query(
      RECORD,
      {
        input: [
          { externalId: 'ok-1', type: 'HEART_RATE', value: 70, recordedAt: hoursAgo(1) },
          { externalId: 'bad-1', type: 'HEART_RATE', value: 400, recordedAt: hoursAgo(1) },
        ],
      },
      token,
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors?.[0]?.message).toContain('bad-1');
    expect(response.errors?.[0]?.extensions?.field).toBe('input[1].value');
    const after = await stack.query('{ me { observations(first: 10) { edges { node { value } } } } }', {}, token);
    expect(after.data?.me.observations.edges).toEqual([]);
  });

  it('a duplicate registration is CONFLICT, whatever the case of the email', async () => {
    const response = await stack.query(REGISTER, { input: { email: 'NEG@example.com', password: PASSWORD, displayName: 'Again' } });
    expect(codes(response)).toEqual(['CONFLICT']);
  });

  it('a replayed batch stores nothing twice', async () => {
    const batch = [
      { externalId: 'replay-1', type: 'SLEEP', value: 420, recordedAt: hoursAgo(20) },
      { externalId: 'replay-2', type: 'STEPS', value: 3000, recordedAt: hoursAgo(10) },
    ];
    const first = await stack.query(RECORD, { input: batch }, token);
    expect(first.data?.recordObservations).toEqual({ inserted: 2, duplicates: 0 });
    const again = await stack.query(RECORD, { input: batch }, token);
    expect(again.data?.recordObservations).toEqual({ inserted: 0, duplicates: 2 });
    const summary = await stack.query('{ me { healthSummary(days: 7) { type count } } }', {}, token);
    expect(summary.data?.me.healthSummary).toEqual(
      expect.arrayContaining([{ type: 'SLEEP', count: 1 }, { type: 'STEPS', count: 1 }]),
    );
  });

  it('errors never carry stacks, SQL or internal URLs', async () => {
    const response = await stack.query('{ users(first: 5, after: "not-a-cursor") { edges { cursor } } }', {}, await testToken({ id: userId, roles: ['ADMIN'] }));
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    const text = JSON.stringify(response);
    expect(text).not.toMatch(/stacktrace|select |127\.0\.0\.1|localhost|serviceName/i);
  });
});

describe('batching across subgraphs', () => {
  it('an admin list of 50 users with healthSummary issues as many SQL statements as 5', async () => {
    const seeded = await seedUsers(stack.databases.user!.database, { password: PASSWORD, extraUsers: 55 });
    await seedHealth(stack.databases.health!.database, { userIds: seeded.map((u) => u.id) });
    const admin = await testToken({ id: seeded[0]!.id, roles: ['USER', 'ADMIN'] });
    const list = (n: number) => `{ users(first: ${n}) { edges { node { displayName healthSummary(days: 7) { type average } } } } }`;

    const counts: Record<number, number> = {};
    for (const n of [5, 50]) {
      const before = sqlStats.statements;
      const response = await stack.query(list(n), {}, admin);
      counts[n] = sqlStats.statements - before;
      expect(response.errors).toBeUndefined();
      expect(response.data?.users.edges).toHaveLength(n);
      const withData = response.data?.users.edges.filter((e: { node: { healthSummary: unknown[] } }) => e.node.healthSummary.length > 0);
      expect(withData.length).toBeGreaterThan(0);
    }
    console.log(`SQL statements: users(first: 5) → ${counts[5]}, users(first: 50) → ${counts[50]}`);
    expect(counts[50]).toBe(counts[5]);
    expect(counts[5]).toBeLessThanOrEqual(3);
  });
});

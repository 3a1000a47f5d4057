import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier, DELEGATED_AUDIENCE } from '@suoke/platform';
import { subscribeOverSse, testJwt, testServiceToken, testToken } from '@suoke/platform/testing';
import { decodeJwt } from 'jose';
import { seedUsers } from '../src/seed.js';
import { REGISTER, codesByPath, startUserSubgraph, type UserHarness } from './harness.js';

// Consent to the agents (issue 20): grant and revoke per scope, `me.agentAccess` for the owner only, a version that
// moves on every change, and the delegated token minted only for the agent's credential and only with a grant.

let users: UserHarness;
let agent: string;

beforeAll(async () => {
  users = await startUserSubgraph();
  agent = await testServiceToken('agent', ['agent-access:delegate']);
});
afterAll(async () => {
  await users?.close();
});

const ACCESS = 'scopes grantedAt updatedAt version';
const GRANT = `mutation ($scopes: [AgentAccessScope!]!) { grantAgentAccess(input: { scopes: $scopes }) { ${ACCESS} } }`;
const REVOKE = `mutation ($scopes: [AgentAccessScope!]!) { revokeAgentAccess(input: { scopes: $scopes }) { ${ACCESS} } }`;
const MINE = `{ me { id agentAccess { ${ACCESS} } } }`;
const MINT = `mutation ($userId: ID!) { delegateAgentAccess(userId: $userId) { token expiresAt scopes grantVersion } }`;

async function register(): Promise<{ id: string; token: string }> {
  const result = await users.gql<any>(REGISTER, { input: { email: `consent-${randomUUID()}@example.com`, password: 'consent-password-2026', displayName: '韩梅梅' } });
  expect(result.errors).toBeUndefined();
  return { id: result.data.register.user.id, token: result.data.register.accessToken };
}

async function ok(query: string, variables: Record<string, unknown>, token: string) {
  const result = await users.gql<any>(query, variables, token);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data;
}

describe('agent access (consent)', () => {
  it('starts empty for a new account and for every seeded one', async () => {
    const user = await register();
    expect((await ok(MINE, {}, user.token)).me.agentAccess).toEqual({ scopes: [], grantedAt: null, updatedAt: null, version: '0' });
    const seeded = await seedUsers(users.testDb.database, { password: 'seeded-password-2026', extraUsers: 3 });
    for (const account of seeded) {
      const token = await testToken({ id: account.id, roles: account.roles });
      expect((await ok(MINE, {}, token)).me.agentAccess.scopes, account.email).toEqual([]);
      const refused = await users.gql<any>(MINT, { userId: account.id }, agent);
      expect(codesByPath(refused.errors), account.email).toEqual({ delegateAgentAccess: 'CONSENT_REQUIRED' });
    }
  });

  it('grants and revokes per scope, in enum order, moving the version on every change', async () => {
    const user = await register();
    const first = (await ok(GRANT, { scopes: ['REPORTS', 'HEALTH_SUMMARY', 'REPORTS'] }, user.token)).grantAgentAccess;
    expect(first.scopes).toEqual(['HEALTH_SUMMARY', 'REPORTS']);
    expect(first.version).toBe('1');
    expect(Date.parse(first.grantedAt)).toBeGreaterThan(Date.now() - 60_000);
    const second = (await ok(GRANT, { scopes: ['HEALTH_PROFILE'] }, user.token)).grantAgentAccess;
    expect(second.scopes).toEqual(['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS']);
    expect(second.version).toBe('2');
    // Granting what is held already still counts as a change of consent.
    expect((await ok(GRANT, { scopes: ['REPORTS'] }, user.token)).grantAgentAccess.version).toBe('3');
    const partial = (await ok(REVOKE, { scopes: ['HEALTH_SUMMARY'] }, user.token)).revokeAgentAccess;
    expect([partial.scopes, partial.version, partial.grantedAt !== null]).toEqual([['HEALTH_PROFILE', 'REPORTS'], '4', true]);
    const none = (await ok(REVOKE, { scopes: ['HEALTH_PROFILE', 'REPORTS'] }, user.token)).revokeAgentAccess;
    expect([none.scopes, none.version, none.grantedAt]).toEqual([[], '5', null]);
    expect((await ok(MINE, {}, user.token)).me.agentAccess).toEqual(none);
  });

  it('revoking before any grant is harmless; an empty list is BAD_USER_INPUT', async () => {
    const user = await register();
    expect((await ok(REVOKE, { scopes: ['REPORTS'] }, user.token)).revokeAgentAccess).toMatchObject({ scopes: [], version: '1', grantedAt: null });
    const empty = await users.gql<any>(GRANT, { scopes: [] }, user.token);
    expect(empty.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.scopes' });
  });

  it('is the account holder\'s only: anonymous, services and other users (even admins) are refused', async () => {
    const owner = await register();
    const admin = await testToken({ id: randomUUID(), roles: ['USER', 'ADMIN'] });
    const other = await register();
    // Another user's account through an entity reference: FORBIDDEN.
    const ref = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { agentAccess { scopes } } } }`;
    for (const token of [other.token, admin, agent]) {
      const res = await users.gql<any>(ref, { r: [{ __typename: 'User', id: owner.id }] }, token);
      expect(codesByPath(res.errors)).toEqual({ '_entities.0.agentAccess': 'FORBIDDEN' });
    }
    expect(codesByPath((await users.gql<any>(GRANT, { scopes: ['REPORTS'] })).errors)).toEqual({ grantAgentAccess: 'UNAUTHENTICATED' });
    expect(codesByPath((await users.gql<any>(GRANT, { scopes: ['REPORTS'] }, agent)).errors)).toEqual({ grantAgentAccess: 'FORBIDDEN' });
  });
});

describe('the delegated token', () => {
  const verify = createTokenVerifier(testJwt);

  it('is minted for the agent\'s credential only, with exactly the scopes granted now, for at most two minutes', async () => {
    const user = await register();
    await ok(GRANT, { scopes: ['REPORTS', 'HEALTH_SUMMARY'] }, user.token);
    for (const [caller, token] of [
      ['the user', user.token],
      ['the diagnosis service', await testServiceToken('diagnosis', ['reports:explain', 'notifications:write'])],
    ] as const) {
      expect(codesByPath((await users.gql<any>(MINT, { userId: user.id }, token)).errors), caller).toEqual({ delegateAgentAccess: 'FORBIDDEN' });
    }
    expect(codesByPath((await users.gql<any>(MINT, { userId: user.id })).errors)).toEqual({ delegateAgentAccess: 'UNAUTHENTICATED' });
    const minted = (await ok(MINT, { userId: user.id }, agent)).delegateAgentAccess;
    expect(minted.scopes).toEqual(['HEALTH_SUMMARY', 'REPORTS']);
    expect(minted.grantVersion).toBe('1');
    const claims = decodeJwt(minted.token);
    expect(claims).toMatchObject({ sub: user.id, act: { sub: 'service:agent' }, aud: DELEGATED_AUDIENCE, scope: 'HEALTH_SUMMARY REPORTS', gv: '1' });
    expect(claims.roles).toBeUndefined();
    const ttl = Number(claims.exp) - Number(claims.iat);
    expect(ttl).toBeGreaterThanOrEqual(60);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(Date.parse(minted.expiresAt)).toBe(Number(claims.exp) * 1000);
    // Every verifier takes it as the user, acted for by the agent, holding no role and no ordinary scope.
    expect(await verify(minted.token)).toEqual({
      id: user.id,
      actor: 'service:agent',
      grants: ['HEALTH_SUMMARY', 'REPORTS'],
      grantVersion: '1',
      roles: [],
      scopes: [],
    });
  });

  it('is refused with CONSENT_REQUIRED without a grant, after a full revoke, and for an unknown user; a partial revoke narrows it', async () => {
    const user = await register();
    expect(codesByPath((await users.gql<any>(MINT, { userId: user.id }, agent)).errors)).toEqual({ delegateAgentAccess: 'CONSENT_REQUIRED' });
    expect(codesByPath((await users.gql<any>(MINT, { userId: randomUUID() }, agent)).errors)).toEqual({ delegateAgentAccess: 'CONSENT_REQUIRED' });
    expect(codesByPath((await users.gql<any>(MINT, { userId: 'not-a-uuid' }, agent)).errors)).toEqual({ delegateAgentAccess: 'BAD_USER_INPUT' });
    await ok(GRANT, { scopes: ['HEALTH_PROFILE', 'REPORTS'] }, user.token);
    await ok(REVOKE, { scopes: ['REPORTS'] }, user.token);
    const narrowed = (await ok(MINT, { userId: user.id }, agent)).delegateAgentAccess;
    expect([narrowed.scopes, narrowed.grantVersion, decodeJwt(narrowed.token).scope]).toEqual([['HEALTH_PROFILE'], '2', 'HEALTH_PROFILE']);
    await ok(REVOKE, { scopes: ['HEALTH_PROFILE'] }, user.token);
    const refused = await users.gql<any>(MINT, { userId: user.id }, agent);
    expect(refused.data?.delegateAgentAccess ?? null).toBeNull();
    expect(refused.errors?.[0]?.extensions?.code).toBe('CONSENT_REQUIRED');
  });

  it('reads here only who it acts for: me { id }, never email, name, consent or a write', async () => {
    const user = await register();
    await ok(GRANT, { scopes: ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS'] }, user.token);
    const token = (await ok(MINT, { userId: user.id }, agent)).delegateAgentAccess.token as string;
    expect((await users.gql<any>('{ me { id } }', {}, token)).data).toEqual({ me: { id: user.id } });
    const wide = await users.gql<any>('{ me { id email agentAccess { scopes } notifications(first: 1) { edges { cursor } } } }', {}, token);
    expect(wide.data.me).toEqual({ id: user.id, email: null, agentAccess: null, notifications: null });
    // `email` resolves to null for non-owners elsewhere; here it is refused outright, like every field not allowlisted.
    expect(codesByPath(wide.errors)).toEqual({ 'me.email': 'FORBIDDEN', 'me.agentAccess': 'FORBIDDEN', 'me.notifications': 'FORBIDDEN' });
    for (const field of ['displayName', 'locale', 'roles', 'createdAt']) {
      const named = await users.gql<any>(`{ me { id ${field} } }`, {}, token);
      expect([named.data?.me ?? null, codesByPath(named.errors)], field).toEqual([null, { [`me.${field}`]: 'FORBIDDEN' }]);
    }
    for (const mutation of [
      `mutation { revokeAgentAccess(input: { scopes: [REPORTS] }) { version } }`,
      `mutation { updateProfile(input: { displayName: "x" }) { id } }`,
      `mutation { delegateAgentAccess(userId: "${user.id}") { token } }`,
    ]) {
      const res = await users.gql<any>(mutation, {}, token);
      expect(Object.values(codesByPath(res.errors)), mutation).toEqual(['FORBIDDEN']);
    }
    expect(codesByPath((await users.gql<any>('{ users(first: 5) { totalCount } }', {}, token)).errors)).toEqual({ users: 'FORBIDDEN' });
    // Nor a subscription: the user's own inbox stream is refused at subscribe.
    const stream = subscribeOverSse<any>(users.url, 'subscription { notificationAdded { id title } }', {}, { caller: token });
    const refusal = await stream.next();
    expect([refusal?.data?.notificationAdded ?? null, refusal?.errors?.map((e) => e.extensions?.code)]).toEqual([null, ['FORBIDDEN']]);
    stream.dispose();
    expect((await ok(MINE, {}, user.token)).me.agentAccess.version).toBe('1');
  });
});

import { randomUUID } from 'node:crypto';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningJwk, signingKeyFromJwk, testSigningJwk, type SigningKey } from '@suoke/platform';
import { testJwt, testServiceToken, testSigningKey, testToken } from '@suoke/platform/testing';
import { codes, post, startStack, type GraphQLResponse, type Stack } from './harness.js';

// Known here so that the attacks can also go straight to the subgraphs, as a pod inside the cluster could.
const SECRET = 'tokens-test-gateway-secret-0123456789';
const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }';
const LOGIN = 'mutation($input: LoginInput!) { login(input: $input) { accessToken } }';
const ME = '{ me { id email } }';
const USERS = '{ users(first: 1) { edges { node { id } } } }';
const OBSERVATIONS = '{ me { id observations(first: 1) { edges { node { value } } } } }';
const NOTIFY = 'mutation($input: PostNotificationInput!) { postNotification(input: $input) { id } }';
const PASSWORD = 'correct-horse-battery';
// Short, so that the rotation below is seen without waiting for jose's defaults (30 s cooldown, 10 min cache).
const JWKS_TIMING = { JWKS_COOLDOWN_MS: '100', JWKS_CACHE_MAX_AGE_MS: '1000' };

let stack: Stack;
let victim: { id: string; email: string; token: string };

/** A token signed with `key` (its kid in the header unless `kid` names another), with any claims an attacker likes. */
function forge(key: SigningKey, claims: { sub: string; aud: string; roles?: string[]; scope?: string; ttl?: number; kid?: string }): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ roles: claims.roles ?? ['SERVICE'], scope: claims.scope ?? '' })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: claims.kid ?? key.kid })
    .setSubject(claims.sub)
    .setIssuer(testJwt.issuer)
    .setAudience(claims.aud)
    .setIssuedAt(now)
    .setJti(randomUUID())
    .setExpirationTime(now + (claims.ttl ?? 120))
    .sign(key.privateKey);
}

/** The same query at the gateway and straight at the subgraph that owns it (with the gateway's secret). */
async function everywhere(query: string, token: string, subgraph: string): Promise<{ gateway: GraphQLResponse<any>; subgraph: GraphQLResponse<any> }> {
  return {
    gateway: await stack.query(query, {}, token),
    subgraph: await post(stack.subgraphUrls[subgraph]!, { query }, token, { 'x-gateway-secret': SECRET }),
  };
}

function expectRefused(result: { gateway: GraphQLResponse<any>; subgraph: GraphQLResponse<any> }, what: string) {
  for (const [where, response] of Object.entries(result)) {
    expect(response.status, `${what} at the ${where}`).toBe(401);
    expect(codes(response), `${what} at the ${where}`).toEqual(['UNAUTHENTICATED']);
    expect(response.data ?? null, `${what} at the ${where}`).toBeNull();
  }
}

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { GATEWAY_SECRET: SECRET, ...JWKS_TIMING }, subgraphEnv: { GATEWAY_SECRET: SECRET, ...JWKS_TIMING } });
  const email = `victim-${randomUUID().slice(0, 8)}@example.com`;
  const registered = await stack.query(REGISTER, { input: { email, password: PASSWORD, displayName: 'Victim' } });
  expect(registered.errors).toBeUndefined();
  victim = { id: registered.data!.register.user.id, email, token: registered.data!.register.accessToken };
});
afterAll(async () => {
  await stack?.stop();
});

describe('keys and their JWKS', () => {
  it('the user, agent and diagnosis subgraphs each publish their own public keys; health and knowledge hold none', async () => {
    const kids: Record<string, string> = {};
    for (const name of ['user', 'agent', 'diagnosis']) {
      const response = await fetch(new URL('/.well-known/jwks.json', stack.subgraphUrls[name]));
      expect(response.status, name).toBe(200);
      const jwks = (await response.json()) as { keys: Record<string, unknown>[] };
      expect(jwks.keys, name).toHaveLength(1);
      expect(jwks.keys[0], name).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect(Object.keys(jwks.keys[0]!), name).not.toContain('d');
      kids[name] = String(jwks.keys[0]!.kid);
    }
    expect(new Set(Object.values(kids)).size).toBe(3);
    for (const name of ['health', 'knowledge']) {
      expect((await fetch(new URL('/.well-known/jwks.json', stack.subgraphUrls[name]))).status, name).toBe(404);
    }
    // A token from sign-up is signed by the user subgraph's published key.
    expect(decodeProtectedHeader(victim.token)).toMatchObject({ alg: 'EdDSA', kid: kids.user });
  });
});

describe("a stolen service key mints no user, no ADMIN and no other service's rights", () => {
  // The agent's key, as a compromised agent pod holds it (the knowledge pod holds no key at all: see above).
  const agentKey = () => testSigningKey('agent');
  const cases: { name: string; query: string; subgraph: string; build: () => Promise<string> }[] = [
    { name: "the victim's subject, user audience", query: ME, subgraph: 'user', build: () => forge(agentKey(), { sub: victim.id, aud: testJwt.audience, roles: ['USER'] }) },
    {
      name: "the victim's subject under the user key's kid",
      query: ME,
      subgraph: 'user',
      build: () => forge(agentKey(), { sub: victim.id, aud: testJwt.audience, roles: ['USER'], kid: testSigningKey('user').kid }),
    },
    { name: 'an ADMIN user', query: USERS, subgraph: 'user', build: () => forge(agentKey(), { sub: randomUUID(), aud: testJwt.audience, roles: ['ADMIN'], scope: 'users:read' }) },
    { name: 'its own subject with the ADMIN role', query: USERS, subgraph: 'user', build: () => forge(agentKey(), { sub: 'service:agent', aud: testJwt.serviceAudience, roles: ['ADMIN'] }) },
    { name: 'its own subject with users:read', query: USERS, subgraph: 'user', build: () => forge(agentKey(), { sub: 'service:agent', aud: testJwt.serviceAudience, scope: 'users:read' }) },
    {
      // notifications:write is the agent's own now (索儿's reminders); reports:explain stays the diagnosis saga's.
      name: "its own subject with diagnosis's reports:explain",
      query: USERS,
      subgraph: 'user',
      build: () => forge(agentKey(), { sub: 'service:agent', aud: testJwt.serviceAudience, scope: 'reports:explain' }),
    },
    {
      name: 'the diagnosis service',
      query: USERS,
      subgraph: 'user',
      build: () => forge(agentKey(), { sub: 'service:diagnosis', aud: testJwt.serviceAudience, scope: 'notifications:write' }),
    },
    { name: 'its own subject for an hour (service tokens live 300 s)', query: ME, subgraph: 'user', build: () => forge(agentKey(), { sub: 'service:agent', aud: testJwt.serviceAudience, ttl: 3_600 }) },
    { name: 'its own subject with the user audience', query: ME, subgraph: 'user', build: () => forge(agentKey(), { sub: 'service:agent', aud: testJwt.audience }) },
    { name: 'a service nobody trusts (knowledge)', query: ME, subgraph: 'user', build: () => forge(testSigningKey('knowledge'), { sub: 'service:knowledge', aud: testJwt.serviceAudience }) },
  ];

  it.each(cases)('$name → 401 UNAUTHENTICATED at the gateway and at the subgraph', async ({ name, query, subgraph, build }) => {
    expectRefused(await everywhere(query, await build(), subgraph), name);
  });

  it('the same key still works for what it is for: its own subject, audience and no scope', async () => {
    const token = await forge(agentKey(), { sub: 'service:agent', aud: testJwt.serviceAudience });
    const response = await stack.query('{ constitutions { code } }', {}, token);
    expect(response.errors).toBeUndefined();
    expect(response.data?.constitutions.length).toBeGreaterThan(0);
  });
});

describe('user tokens and service tokens are never each other', () => {
  const notification = () => ({ key: `t-${randomUUID()}`, userId: victim.id, kind: 'REPORT_READY', title: '报告', body: '你的报告已生成' });

  it('a service token is accepted where a service is expected (the saga posts a notification)', async () => {
    const diagnosis = await testServiceToken('diagnosis', ['reports:explain', 'notifications:write']);
    const response = await stack.query(NOTIFY, { input: notification() }, diagnosis);
    expect(response.errors).toBeUndefined();
    expect(response.data?.postNotification.id).toBeTruthy();
  });

  it('a user token, even an ADMIN one, is not: FORBIDDEN; and no user token can carry a service scope or subject', async () => {
    for (const roles of [['USER'], ['ADMIN'], ['CLINICIAN']]) {
      const response = await stack.query(NOTIFY, { input: notification() }, await testToken({ id: victim.id, roles }));
      expect(codes(response), roles.join()).toEqual(['FORBIDDEN']);
      expect(response.data?.postNotification ?? null).toBeNull();
    }
    // Signed by the user subgraph's own key, as if it were tricked into it: still refused.
    const userKey = testSigningKey('user');
    for (const claims of [
      { sub: victim.id, aud: testJwt.audience, roles: ['USER'], scope: 'notifications:write' },
      { sub: victim.id, aud: testJwt.audience, roles: ['SERVICE'] },
      { sub: 'service:diagnosis', aud: testJwt.serviceAudience, scope: 'notifications:write' },
      { sub: victim.id, aud: testJwt.serviceAudience, roles: ['USER'] },
    ]) {
      const response = await stack.query(NOTIFY, { input: notification() }, await forge(userKey, claims));
      expect(response.status, JSON.stringify(claims)).toBe(401);
      expect(codes(response), JSON.stringify(claims)).toEqual(['UNAUTHENTICATED']);
    }
  });

  it('a service token is not a user: no `me`, no user-owned data, no conversation, no ADMIN list', async () => {
    const diagnosis = await testServiceToken('diagnosis', ['reports:explain', 'notifications:write']);
    const me = await stack.query(ME, {}, diagnosis);
    expect(me.errors).toBeUndefined();
    expect(me.data?.me).toBeNull();
    const record = await stack.query(
      'mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted } }',
      { input: [{ externalId: 'svc-1', type: 'WEIGHT', value: 60, recordedAt: new Date(Date.now() - 60_000).toISOString() }] },
      diagnosis,
    );
    expect(codes(record)).toEqual(['FORBIDDEN']);
    const profile = await stack.query('mutation { updateHealthProfile(input: { heightCm: 170 }) { heightCm } }', {}, diagnosis);
    expect(codes(profile)).toEqual(['FORBIDDEN']);
    const conversation = await stack.query(`{ conversation(id: "${randomUUID()}") { id } }`, {}, diagnosis);
    expect(codes(conversation)).toEqual(['FORBIDDEN']);
    expect(codes(await stack.query(USERS, {}, diagnosis))).toEqual(['FORBIDDEN']);
  });
});

describe('key rotation', () => {
  const user = () => stack.instances.user![0]!;
  const restartUser = async (env: Record<string, string>) => {
    await user().stop();
    await user().start(env);
  };
  const login = async () => {
    const response = await stack.query(LOGIN, { input: { email: victim.email, password: PASSWORD } });
    expect(response.errors).toBeUndefined();
    return response.data!.login.accessToken as string;
  };
  const meId = async (token: string) => {
    const response = await stack.query(OBSERVATIONS, {}, token);
    return response.status === 200 && !response.errors ? (response.data?.me?.id as string) : codes(response).join();
  };
  const waitForCaches = () => new Promise((resolve) => setTimeout(resolve, Number(JWKS_TIMING.JWKS_CACHE_MAX_AGE_MS) + 200));

  it('publishes the next key before it signs, then signs with it while tokens of the old key stay valid until it is withdrawn', async () => {
    const old = testSigningJwk('user');
    const next = generateSigningJwk();
    const oldToken = await login();
    expect(decodeProtectedHeader(oldToken).kid).toBe(old.kid);
    expect(await meId(oldToken)).toBe(victim.id);

    // 1. The next key is published; the old one still signs.
    await restartUser({ JWT_SIGNING_KEYS: JSON.stringify({ keys: [old, next] }), JWT_SIGNING_KID: old.kid! });
    // A fresh connection: the global pool may still hold a keep-alive socket to the process that was just stopped.
    const jwks = (await (await fetch(new URL('/.well-known/jwks.json', stack.subgraphUrls.user), { dispatcher: new Agent() } as RequestInit)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([old.kid, next.kid].sort());
    expect(decodeProtectedHeader(await login()).kid).toBe(old.kid);

    // 2. The next key signs. The gateway and the subgraphs fetch it (jose refetches on an unknown kid, or when the cache ages).
    await restartUser({ JWT_SIGNING_KEYS: JSON.stringify({ keys: [old, next] }), JWT_SIGNING_KID: next.kid! });
    const newToken = await login();
    expect(decodeProtectedHeader(newToken).kid).toBe(next.kid);
    await waitForCaches();
    expect(await meId(newToken)).toBe(victim.id);
    expect(await meId(oldToken)).toBe(victim.id);
    // A key that was never published is refused, whatever kid it names.
    const stranger = signingKeyFromJwk(generateSigningJwk());
    expect(await meId(await forge(stranger, { sub: victim.id, aud: testJwt.audience, roles: ['USER'] }))).toBe('UNAUTHENTICATED');
    expect(await meId(await forge(stranger, { sub: victim.id, aud: testJwt.audience, roles: ['USER'], kid: next.kid! }))).toBe('UNAUTHENTICATED');

    // 3. Once the old key's tokens have expired, it is withdrawn: what it signs is refused from then on.
    await restartUser({ JWT_SIGNING_KEYS: JSON.stringify({ keys: [next] }) });
    await waitForCaches();
    expect(await meId(await testToken({ id: victim.id }))).toBe('UNAUTHENTICATED');
    expect(await meId(await login())).toBe(victim.id);
  });
});

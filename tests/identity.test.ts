import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { ConfigError, generateSigningJwk, signingKeyFromJwk, type SigningKey } from '@suoke/platform';
import { testJwt, testSigningKey, testToken } from '@suoke/platform/testing';
import { loadGatewayConfig } from '../gateway/src/server.js';
import { codes, post, startStack, subgraphDefinitions, type Stack } from './harness.js';

// Known here (not the harness default) so that the test can call subgraphs as the gateway does.
const SECRET = 'identity-test-gateway-secret-0123';
const PASSWORD = 'correct-horse-battery';
const REGISTER = 'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }';
const RECORD = 'mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted } }';
const PROTECTED = '{ me { id email observations(first: 5) { edges { node { value } } } } }';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const inFiveMinutes = () => Math.floor(Date.now() / 1000) + 300;
/** The HS256 secret every service shared before tokens were signed with the user subgraph's own key. */
const OLD_DEV_SECRET = 'suoke-development-jwt-secret-not-for-production';

/** A token like the user subgraph's (its key, its kid), with one thing changed. */
function signed(
  sub: string,
  change: { issuer?: string; audience?: string; key?: SigningKey; hmac?: { alg: string; secret: Uint8Array }; noExpiry?: boolean } = {},
) {
  const key = change.key ?? testSigningKey('user');
  const jwt = new SignJWT({ roles: ['USER'], scope: 'profile:read health:read' })
    .setProtectedHeader({ alg: change.hmac?.alg ?? key.alg, typ: 'JWT', kid: testSigningKey('user').kid })
    .setSubject(sub)
    .setIssuer(change.issuer ?? testJwt.issuer)
    .setAudience(change.audience ?? testJwt.audience)
    .setIssuedAt();
  if (!change.noExpiry) jwt.setExpirationTime(inFiveMinutes());
  return jwt.sign(change.hmac?.secret ?? key.privateKey);
}

let stack: Stack;
let victim: { id: string; token: string };
let attacker: { id: string; token: string };

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { GATEWAY_SECRET: SECRET }, subgraphEnv: { GATEWAY_SECRET: SECRET } });
  const register = async (email: string) => {
    const response = await stack.query(REGISTER, { input: { email, password: PASSWORD, displayName: email.split('@')[0] } });
    expect(response.errors).toBeUndefined();
    return { id: response.data?.register.user.id as string, token: response.data?.register.accessToken as string };
  };
  victim = await register('victim@example.com');
  attacker = await register('attacker@example.com');
  const recorded = await stack.query(RECORD, { input: [{ externalId: 'v-1', type: 'WEIGHT', value: 58.5, recordedAt: new Date(Date.now() - 60_000).toISOString() }] }, victim.token);
  expect(recorded.data?.recordObservations.inserted).toBe(1);
});
afterAll(async () => {
  await stack?.stop();
});

describe('tokens the gateway refuses before any subgraph fetch', () => {
  const cases: { token: string; build: () => Promise<string> }[] = [
    {
      token: 'alg: none',
      build: async () => [b64({ alg: 'none', typ: 'JWT' }), b64({ sub: victim.id, iss: testJwt.issuer, aud: testJwt.audience, exp: inFiveMinutes() }), ''].join('.'),
    },
    { token: 'expired', build: () => testToken({ id: victim.id }, { ttlSeconds: -60 }) },
    { token: 'wrong issuer', build: () => signed(victim.id, { issuer: 'someone-else' }) },
    { token: 'wrong audience', build: () => signed(victim.id, { audience: 'another-app' }) },
    {
      token: "tampered payload (the attacker's token claiming the victim)",
      build: async () => {
        const [header, payload, signature] = attacker.token.split('.') as [string, string, string];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
        return [header, b64({ ...claims, sub: victim.id }), signature].join('.');
      },
    },
    { token: "signed with another key under the user subgraph's kid", build: () => signed(victim.id, { key: signingKeyFromJwk(generateSigningJwk()) }) },
    { token: 'HS256 with the former shared development secret', build: () => signed(victim.id, { hmac: { alg: 'HS256', secret: new TextEncoder().encode(OLD_DEV_SECRET) } }) },
    {
      token: "HS256 keyed with the user subgraph's published public key (algorithm confusion)",
      build: () => signed(victim.id, { hmac: { alg: 'HS256', secret: Buffer.from(JSON.stringify(testSigningKey('user').publicJwk)) } }),
    },
    { token: 'no expiry', build: () => signed(victim.id, { noExpiry: true }) },
    { token: 'not a JWT', build: async () => 'not.a.jwt' },
  ];

  it.each(cases)('$token → 401 UNAUTHENTICATED, no data, 0 subgraph fetches', async ({ build }) => {
    const token = await build();
    const before = stack.subgraphFetches();
    const response = await stack.query(PROTECTED, {}, token);
    expect(response.status).toBe(401);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.data ?? null).toBeNull();
    expect(response.errors?.[0]?.message).toMatch(/^The access token (is invalid|has expired)$/);
    expect(stack.subgraphFetches() - before).toBe(0);
  });

  it('another scheme than Bearer is refused the same way, not treated as anonymous', async () => {
    const before = stack.subgraphFetches();
    const response = await stack.query(PROTECTED, {}, undefined, { authorization: `Basic ${Buffer.from(`${victim.id}:x`).toString('base64')}` });
    expect(response.status).toBe(401);
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    expect(stack.subgraphFetches() - before).toBe(0);
  });

  it('the genuine token reads the same fields (the query itself is fine)', async () => {
    const response = await stack.query(PROTECTED, {}, victim.token);
    expect(response.errors).toBeUndefined();
    expect(response.data?.me.id).toBe(victim.id);
    expect(response.data?.me.observations.edges).toHaveLength(1);
  });
});

describe('identity comes from the token only', () => {
  const identityHeaders = (id: string) => ({
    'x-user-id': id,
    'x-suoke-user': JSON.stringify({ id, roles: ['ADMIN'], scopes: ['health:read:any', 'users:read'] }),
    'x-suoke-user-id': id,
    'x-user': id,
    'x-forwarded-user': id,
    'x-authenticated-userid': id,
    'x-remote-user': id,
    'remote-user': id,
  });

  it('ignores client-sent identity headers at the gateway: anonymous stays anonymous, a user stays themselves', async () => {
    const anonymous = await stack.query(PROTECTED, {}, undefined, identityHeaders(victim.id));
    expect(anonymous.errors).toBeUndefined();
    expect(anonymous.data?.me).toBeNull();

    const asAttacker = await stack.query(PROTECTED, {}, attacker.token, identityHeaders(victim.id));
    expect(asAttacker.errors).toBeUndefined();
    expect(asAttacker.data?.me).toMatchObject({ id: attacker.id, email: 'attacker@example.com' });
    expect(asAttacker.data?.me.observations.edges).toEqual([]);

    const admin = await stack.query('{ users(first: 5) { edges { node { id } } } }', {}, attacker.token, identityHeaders(victim.id));
    expect(admin.data?.users ?? null).toBeNull();
    expect(codes(admin)).toEqual(['FORBIDDEN']);
  });

  it('subgraphs ignore them too, even on a call that carries the gateway secret', async () => {
    const query = `{ _entities(representations: [{ __typename: "User", id: "${victim.id}" }]) { ... on User { observations(first: 5) { edges { node { value } } } } } }`;
    const response = await post<{ _entities: ({ observations: unknown } | null)[] }>(stack.subgraphUrls.health!, { query }, undefined, {
      'x-gateway-secret': SECRET,
      ...identityHeaders(victim.id),
    });
    expect(response.status).toBe(200);
    expect(JSON.stringify(response.data ?? null)).not.toContain('58.5');
    expect(codes(response)).toContain('UNAUTHENTICATED');
  });
});

describe('subgraphs accept only the gateway', () => {
  it('every subgraph refuses a call without the shared secret, or with a wrong one (401, nothing served)', async () => {
    const names = Object.keys(stack.subgraphUrls);
    expect(names.length).toBeGreaterThanOrEqual(5);
    for (const name of names) {
      const url = stack.subgraphUrls[name]!;
      for (const headers of [{}, { 'x-gateway-secret': 'not-the-secret' }, { 'x-gateway-secret': `${SECRET}x` }] as Record<string, string>[]) {
        const response = await post<Record<string, unknown>>(url, { query: '{ _service { sdl } }' }, victim.token, headers);
        expect(response.status, `${name} ${JSON.stringify(headers)}`).toBe(401);
        expect(codes(response)).toEqual(['UNAUTHENTICATED']);
        expect(response.data ?? null).toBeNull();
      }
      // The same call as the gateway makes it is served: the refusal is about the secret.
      const gateway = await post<{ _service: { sdl: string } }>(url, { query: '{ _service { sdl } }' }, undefined, { 'x-gateway-secret': SECRET });
      expect(gateway.status, name).toBe(200);
      expect(gateway.data?._service.sdl).toContain('type');
    }
  });

  it("production refuses to start any service without GATEWAY_SECRET, or without the user subgraph's public keys", async () => {
    const jwks = 'https://user.internal/.well-known/jwks.json';
    const loaders: [string, (env: NodeJS.ProcessEnv) => unknown][] = [
      ['gateway', (env) => loadGatewayConfig(env)],
      ...(await subgraphDefinitions()).map((d): [string, (env: NodeJS.ProcessEnv) => unknown] => [d.name, (env) => d.loadConfig(env)]),
    ];
    expect(loaders.length).toBeGreaterThanOrEqual(6);
    const problems = (load: (env: NodeJS.ProcessEnv) => unknown, env: NodeJS.ProcessEnv) => {
      try {
        load(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      return [];
    };
    for (const [name, load] of loaders) {
      expect(problems(load, { NODE_ENV: 'production', JWT_JWKS_URL: jwks }), name).toContainEqual(expect.stringMatching(/^GATEWAY_SECRET: required/));
      expect(problems(load, { NODE_ENV: 'production', GATEWAY_SECRET: SECRET }), name).toContainEqual(expect.stringMatching(/^JWT_JWKS_URL or JWT_JWKS: one is required/));
    }
  });
});

describe('federation internals are not part of the public graph', () => {
  it.each([
    ['_service', '{ _service { sdl } }'],
    ['_entities', `{ _entities(representations: [{ __typename: "User", id: "00000000-0000-0000-0000-000000000000" }]) { ... on User { id } } }`],
  ])('%s through the gateway: GRAPHQL_VALIDATION_FAILED, 0 subgraph fetches', async (_name, query) => {
    const before = stack.subgraphFetches();
    const response = await stack.query(query, {}, victim.token);
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(response.data ?? null).toBeNull();
    expect(stack.subgraphFetches() - before).toBe(0);
  });

  it('the served schema has no _Any, _Entity or _Service type', async () => {
    const response = await stack.query('{ __schema { types { name } } }');
    const names: string[] = response.data?.__schema.types.map((t: { name: string }) => t.name) ?? [];
    expect(names).toContain('User');
    expect(names.filter((n) => /^_[^_]/.test(n))).toEqual([]);
  });
});

import { createRequire } from 'node:module';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, parse, type ExecutionResult } from 'graphql';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createTokenVerifier, signAccessToken, withAuthDirectives, type AuthUser, delegatedReads, ANY_GRANT, DELEGATED_AUDIENCE, healthSummaryId, parseHealthSummaryId, signDelegatedToken, type AgentAccessScope, createKeyRing, generateSigningJwk } from '../../src/auth/index.js';

const { graphql } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const ring = createKeyRing('user', [generateSigningJwk()]);
const verify = createTokenVerifier({ jwks: ring.jwks, issuer: 'suoke-life', audience: 'suoke-app' });
const USER = '5b0c6a0e-4a8f-4a51-9f3e-0d7f1c2b3a4d';
const mint = (scopes: AgentAccessScope[], ttlSeconds = 90) =>
  signDelegatedToken({ userId: USER, scopes, grantVersion: '3' }, { key: ring, issuer: 'suoke-life', ttlSeconds }).then((t) => t.token);

async function refused(token: string): Promise<string | undefined> {
  const error = await verify(token).then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(GraphQLError);
  return (error as GraphQLError).extensions.code as string;
}

/** A token signed by the user key with arbitrary claims. */
function forge(claims: Record<string, unknown>, options: { audience?: string; ttl?: number; subject?: string } = {}) {
  const key = ring.active;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setSubject(options.subject ?? USER)
    .setIssuer('suoke-life')
    .setAudience(options.audience ?? DELEGATED_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.ttl ?? 90))
    .sign(key.privateKey);
}

describe('delegated tokens', () => {
  it('verify as the user, acted for by the agent, with the grants and no role or ordinary scope', async () => {
    expect(await verify(await mint(['REPORTS', 'HEALTH_SUMMARY']))).toEqual({
      id: USER,
      actor: 'service:agent',
      grants: ['HEALTH_SUMMARY', 'REPORTS'],
      grantVersion: '3',
      roles: [],
      scopes: [],
    });
  });

  it('are refused when anything is off: actor, subject, roles, scopes, lifetime, audience', async () => {
    const act = { sub: 'service:agent' };
    for (const [name, token] of [
      ['no act claim on the delegated audience', await forge({ scope: 'REPORTS' })],
      ['an unknown actor', await forge({ act: { sub: 'service:diagnosis' }, scope: 'REPORTS' })],
      ['a service subject', await forge({ act, scope: 'REPORTS' }, { subject: 'service:agent' })],
      ['roles', await forge({ act, scope: 'REPORTS', roles: ['ADMIN'] })],
      ['an ordinary scope', await forge({ act, scope: 'REPORTS health:read:any' })],
      ['no scope', await forge({ act, scope: '' })],
      ['a lifetime over 120 s', await forge({ act, scope: 'REPORTS' }, { ttl: 600 })],
      ['the user audience with an act claim', await forge({ act, scope: 'REPORTS' }, { audience: 'suoke-app' })],
    ] as const) {
      expect(await refused(token), name).toBe('UNAUTHENTICATED');
    }
    // An ordinary user token is not a delegated one, and a delegated token is never taken for it.
    expect(await verify(await signAccessToken({ id: USER, roles: ['USER'] }, { key: ring, issuer: 'suoke-life', audience: 'suoke-app', ttlSeconds: 60 }))).not.toHaveProperty('grants');
    await expect(signDelegatedToken({ userId: USER, scopes: [], grantVersion: '1' }, { key: ring, issuer: 'suoke-life', ttlSeconds: 90 })).rejects.toMatchObject({ extensions: { code: 'CONSENT_REQUIRED' } });
  });

  it('live 60–120 s whatever is asked', async () => {
    for (const [asked, expected] of [[10, 60], [90, 90], [3600, 120]] as const) {
      const { token } = await signDelegatedToken({ userId: USER, scopes: ['REPORTS'], grantVersion: '1' }, { key: ring, issuer: 'suoke-life', ttlSeconds: asked });
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
      expect(claims.exp - claims.iat).toBe(expected);
    }
  });
});

describe('delegated reads', () => {
  const typeDefs = parse(/* GraphQL */ `
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated"])
    type Query { me: User  public: String  report(id: ID!): Report }
    type Mutation { write: String }
    type User @key(fields: "id") { id: ID!  name: String  summary: Summary  report: Report  diary: Diary }
    type Summary { count: Int  detail: Detail }
    type Detail { note: String }
    type Report @key(fields: "id") { id: ID!  score: Int }
    type Diary { text: String }
    type Secret @key(fields: "id") { id: ID!  value: String }
  `);
  const resolvers = {
    Query: { me: () => ({ id: USER, name: 'n' }), public: () => 'p', report: () => ({ id: 'r1', score: 7 }) },
    Mutation: { write: () => 'w' },
    User: { summary: () => ({ count: 3, detail: { note: 'x' } }), report: () => ({ id: 'r1', score: 7 }), diary: () => ({ text: 'dear' }) },
    Secret: { __resolveReference: (ref: { id: string }) => ({ ...ref, value: 'v' }) },
  };
  const reads = { 'Query.me': ANY_GRANT, 'User.id': ANY_GRANT, 'User.summary': ['HEALTH_SUMMARY'], Summary: ['HEALTH_SUMMARY'], 'User.report': ['REPORTS'], Report: ['REPORTS'] } as const;
  const schema = buildSubgraphSchema({ typeDefs, resolvers: withAuthDirectives(typeDefs, delegatedReads(resolvers, reads)) as never });
  const run = async (source: string, user: AuthUser | undefined, variableValues?: Record<string, unknown>) => {
    const result = (await graphql({ schema, source, contextValue: { user }, variableValues })) as ExecutionResult;
    return { data: result.data, codes: Object.fromEntries((result.errors ?? []).map((e) => [e.path?.join('.'), e.extensions.code])) };
  };
  const delegatedUser = (grants: AgentAccessScope[]): AuthUser => ({ id: USER, roles: [], scopes: [], actor: 'service:agent', grants });
  const owner: AuthUser = { id: USER, roles: ['USER'], scopes: [] };

  it('opens allowlisted fields for a granted scope, whole allowlisted types beneath them, and nothing else', async () => {
    const token = delegatedUser(['HEALTH_SUMMARY']);
    expect(await run('{ me { id summary { count detail { note } } } }', token)).toEqual({ data: { me: { id: USER, summary: { count: 3, detail: { note: null } } } }, codes: { 'me.summary.detail.note': 'FORBIDDEN' } });
    expect((await run('{ me { name report { id } diary { text } } }', token)).codes).toEqual({ 'me.name': 'FORBIDDEN', 'me.report': 'FORBIDDEN', 'me.diary': 'FORBIDDEN' });
    expect((await run('{ public report(id: "r1") { id } }', delegatedUser(['REPORTS']))).codes).toEqual({ public: 'FORBIDDEN', report: 'FORBIDDEN' });
    expect((await run('mutation { write }', delegatedUser(['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS']))).codes).toEqual({ write: 'FORBIDDEN' });
  });

  it('resolves entity references only of allowlisted types with a granted scope', async () => {
    const query = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Report { score } ... on Secret { value } ... on User { id } } }';
    const r = [{ __typename: 'Report', id: 'r1' }, { __typename: 'Secret', id: 's1' }, { __typename: 'User', id: USER }];
    expect(await run(query, delegatedUser(['REPORTS']), { r })).toEqual({ data: { _entities: [{ score: null }, null, { id: USER }] }, codes: { '_entities.1': 'FORBIDDEN' } });
    expect((await run(query, delegatedUser(['HEALTH_SUMMARY']), { r })).codes).toEqual({ '_entities.0': 'FORBIDDEN', '_entities.1': 'FORBIDDEN' });
  });

  it('changes nothing for every other caller', async () => {
    expect(await run('{ public me { id name summary { count detail { note } } diary { text } } }', owner)).toEqual({
      data: { public: 'p', me: { id: USER, name: 'n', summary: { count: 3, detail: { note: 'x' } }, diary: { text: 'dear' } } },
      codes: {},
    });
    expect((await run('mutation { write }', undefined)).data).toEqual({ write: 'w' });
  });

  it('refuses an allowlist naming what the schema lacks, or a write', () => {
    expect(() => withAuthDirectives(typeDefs, delegatedReads(resolvers, { 'User.nope': ANY_GRANT }))).toThrow(/User.nope is not in this subgraph/);
    expect(() => withAuthDirectives(typeDefs, delegatedReads(resolvers, { 'Mutation.write': ANY_GRANT }))).toThrow(/never writes/);
  });
});

describe('HealthSummary ids', () => {
  it('round-trip, and anything else parses to undefined', () => {
    const key = { userId: USER, type: 'HEART_RATE', from: new Date('2026-11-01T00:00:00.000Z'), to: new Date('2026-11-08T00:00:00.000Z') };
    expect(parseHealthSummaryId(healthSummaryId(key))).toEqual(key);
    for (const bad of ['', 'x', `${USER}~heart~2026-11-01T00:00:00Z~2026-11-08T00:00:00Z`, `${USER}~HEART_RATE~2026-11-08T00:00:00Z~2026-11-01T00:00:00Z`, `${USER}~HEART_RATE~nope~2026-11-01T00:00:00Z`]) {
      expect(parseHealthSummaryId(bad), bad).toBeUndefined();
    }
  });
});

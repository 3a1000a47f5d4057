import { GraphQLError } from 'graphql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assertOwnerOr, createTokenVerifier, scopesForRoles, signAccessToken, userFromAuthorization, createKeyRing, generateSigningJwk, type KeyRing } from '../../src/auth/index.js';

const ring = createKeyRing('user', [generateSigningJwk()]);
const jwt = { jwks: ring.jwks, issuer: 'suoke-life', audience: 'suoke-app' };
const verify = createTokenVerifier(jwt);
const sign = (overrides: Partial<{ issuer: string; audience: string; ttlSeconds: number; key: KeyRing }> = {}, user = { id: 'u-1', roles: ['USER'] }) =>
  signAccessToken(user, { key: ring, issuer: jwt.issuer, audience: jwt.audience, ttlSeconds: 300, ...overrides });

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

async function rejection(promise: Promise<unknown>): Promise<GraphQLError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphQLError);
  return error as GraphQLError;
}

describe('createTokenVerifier', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('accepts a token from signAccessToken and returns id, roles and scopes', async () => {
    const user = await verify(await sign({}, { id: 'u-42', roles: ['USER', 'ADMIN'] }));
    expect(user.id).toBe('u-42');
    expect(user.roles).toEqual(['USER', 'ADMIN']);
    expect(user.scopes).toEqual(scopesForRoles(['USER', 'ADMIN']));
  });

  it('rejects an expired token as expired', async () => {
    const error = await rejection(verify(await sign({ ttlSeconds: -60 })));
    expect(error.extensions.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/expired/);
  });

  it('rejects a token signed with another key, even one naming a published kid', async () => {
    const other = createKeyRing('user', [{ ...generateSigningJwk(), kid: ring.active.kid }]);
    const error = await rejection(verify(await sign({ key: other })));
    expect(error.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a token whose payload was changed after signing', async () => {
    const token = await sign();
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64({ ...payloadOf(token), sub: 'u-admin', roles: ['ADMIN'] })}.${signature}`;
    expect((await rejection(verify(forged))).extensions.code).toBe('UNAUTHENTICATED');
  });

  it('rejects an unsigned token (alg: none)', async () => {
    const token = await sign();
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payloadOf(token))}.`;
    expect((await rejection(verify(unsigned))).extensions.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a token of another issuer', async () => {
    expect((await rejection(verify(await sign({ issuer: 'someone-else' })))).extensions.code).toBe('UNAUTHENTICATED');
  });

  it('rejects a token for another audience', async () => {
    expect((await rejection(verify(await sign({ audience: 'other-app' })))).extensions.code).toBe('UNAUTHENTICATED');
  });

  it('rejects something that is not a JWT', async () => {
    expect((await rejection(verify('not.a.jwt'))).extensions.code).toBe('UNAUTHENTICATED');
  });

  it('returns each caller its own copy of a remembered identity', async () => {
    const token = await sign({}, { id: 'u-7', roles: ['USER'] });
    const first = await verify(token);
    first.roles.push('ADMIN');
    first.scopes.push('audit:read');
    const second = await verify(token);
    expect(second.roles).toEqual(['USER']);
    expect(second.scopes).not.toContain('audit:read');
  });

  it('refuses a remembered token once its exp has passed (clock tolerance 5 s)', async () => {
    const fresh = createTokenVerifier(jwt);
    const token = await sign({ ttlSeconds: 30 });
    expect((await fresh(token)).id).toBe('u-1');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 20_000);
    expect((await fresh(token)).id).toBe('u-1');
    vi.setSystemTime(Date.now() + 16_000);
    const error = await rejection(fresh(token));
    expect(error.extensions.code).toBe('UNAUTHENTICATED');
    expect(error.message).toMatch(/expired/);
  });

  it('checks a signature once per token: remembers successes only', async () => {
    const checks = vi.spyOn(globalThis.crypto.subtle, 'verify');
    const remembering = createTokenVerifier(jwt);
    const forgetting = createTokenVerifier(jwt, { max: 0 });
    const token = await sign({}, { id: 'u-9', roles: ['USER'] });
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${'A'.repeat(43)}`;
    for (let i = 0; i < 3; i += 1) expect((await remembering(token)).id).toBe('u-9');
    expect(checks).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i += 1) expect((await forgetting(token)).id).toBe('u-9');
    expect(checks).toHaveBeenCalledTimes(4);
    for (let i = 0; i < 2; i += 1) expect((await rejection(remembering(forged))).extensions.code).toBe('UNAUTHENTICATED');
    expect(checks).toHaveBeenCalledTimes(6);
    checks.mockRestore();
  });

  it('requires the user tokens\' public keys', () => {
    expect(() => createTokenVerifier({ issuer: 'i', audience: 'a' })).toThrow(/public keys/);
  });

  it('surfaces the sign-in a token belongs to (sid) as sessionId', async () => {
    const user = await verify(await signAccessToken({ id: 'u-3', roles: ['USER'] }, { key: ring, issuer: jwt.issuer, audience: jwt.audience, ttlSeconds: 60, sessionId: 's-1' }));
    expect(user.sessionId).toBe('s-1');
    expect((await verify(await sign())).sessionId).toBeUndefined();
  });
});

describe('userFromAuthorization', () => {
  it('treats a missing or empty header as anonymous', async () => {
    await expect(userFromAuthorization(undefined, verify)).resolves.toBeUndefined();
    await expect(userFromAuthorization(null, verify)).resolves.toBeUndefined();
    await expect(userFromAuthorization('', verify)).resolves.toBeUndefined();
  });

  it('refuses another scheme instead of treating it as anonymous', async () => {
    expect((await rejection(userFromAuthorization('Basic x', verify))).extensions.code).toBe('UNAUTHENTICATED');
    expect((await rejection(userFromAuthorization('Bearer', verify))).extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a bearer token that does not verify', async () => {
    expect((await rejection(userFromAuthorization('Bearer abc.def.ghi', verify))).extensions.code).toBe('UNAUTHENTICATED');
  });

  it('returns the user of a valid bearer token (scheme in any case)', async () => {
    const token = await sign({}, { id: 'u-7', roles: ['USER'] });
    expect((await userFromAuthorization(`Bearer ${token}`, verify))?.id).toBe('u-7');
    expect((await userFromAuthorization(`bearer ${token}`, verify))?.id).toBe('u-7');
  });
});

describe('scopesForRoles', () => {
  it('gives USER only its own scopes', () => {
    const scopes = scopesForRoles(['USER']);
    expect(scopes).toEqual(['health:read', 'health:write', 'profile:read', 'profile:write']);
    expect(scopes).not.toContain('users:read');
  });

  it('gives ADMIN the USER scopes plus users:read, health:read:any and audit:read', () => {
    const scopes = scopesForRoles(['ADMIN']);
    // audit:read: the PHI subgraphs' audit log queries (platform/src/audit/).
    expect(scopes).toEqual(expect.arrayContaining(['profile:read', 'health:read', 'users:read', 'health:read:any', 'audit:read']));
    expect(scopes).toHaveLength(7);
  });

  it('ignores unknown roles', () => {
    expect(scopesForRoles(['USER', 'SUPERUSER'])).toEqual(scopesForRoles(['USER']));
  });
});

describe('assertOwnerOr', () => {
  const user = { id: 'u-1', roles: ['USER'], scopes: scopesForRoles(['USER']) };
  it('lets the owner through and refuses others without the scope', () => {
    expect(assertOwnerOr({ user }, 'u-1', 'health:read:any')).toBe(user);
    expect(() => assertOwnerOr({ user }, 'u-2', 'health:read:any')).toThrow(expect.objectContaining({ extensions: { code: 'FORBIDDEN' } }));
    expect(() => assertOwnerOr({}, 'u-1', 'health:read:any')).toThrow(expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } }));
  });

  it('lets a holder of the any-scope read others', () => {
    const admin = { id: 'a', roles: ['ADMIN'], scopes: scopesForRoles(['ADMIN']) };
    expect(assertOwnerOr({ user: admin }, 'u-2', 'health:read:any')).toBe(admin);
  });
});

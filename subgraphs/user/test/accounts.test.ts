import { randomUUID } from 'node:crypto';
import { generateSigningJwk, signingKeyFromJwk } from '@suoke/platform';
import { testToken } from '@suoke/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codesByPath, LOGIN, LOGOUT, ME, PASSWORD, REFRESH, REGISTER, register, startUserSubgraph, type Tokens, type UserHarness } from './harness.js';

let h: UserHarness;

beforeAll(async () => {
  h = await startUserSubgraph();
});

afterAll(async () => {
  await h?.close();
});

const login = (email: string, password = PASSWORD) => h.gql<{ login: Tokens }>(LOGIN, { input: { email, password } });
const refresh = (token: string) => h.gql<{ refreshToken: Tokens }>(REFRESH, { token });
const me = (token?: string) => h.gql<{ me: { id: string; email: string | null; displayName: string; locale: string } | null }>(ME, undefined, token);

describe('register, login, me', () => {
  let registered: Tokens;

  it('registers with a normalised email and returns working tokens', async () => {
    registered = await register(h, '  Demo@Example.COM ', '  Demo User ');
    expect(registered.user).toMatchObject({ displayName: 'Demo User', locale: 'zh-CN', roles: ['USER'] });
    expect(registered.user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(registered.accessToken.split('.')).toHaveLength(3);
    expect(registered.refreshToken.length).toBeGreaterThanOrEqual(32);
    expect(registered.expiresIn).toBe(900);
    const res = await me(registered.accessToken);
    expect(res.errors).toBeUndefined();
    expect(res.data?.me).toMatchObject({ id: registered.user.id, email: 'demo@example.com', displayName: 'Demo User' });
  });

  it('logs in with the email in another case and shows the profile through me', async () => {
    const res = await login('demo@example.com');
    expect(res.errors).toBeUndefined();
    const tokens = res.data!.login;
    expect(tokens.user.id).toBe(registered.user.id);
    expect(tokens.refreshToken).not.toBe(registered.refreshToken);
    const profile = await me(tokens.accessToken);
    expect(profile.data?.me).toMatchObject({ id: registered.user.id, displayName: 'Demo User', email: 'demo@example.com' });
    expect((await login(' DEMO@example.com ')).data?.login.user.id).toBe(registered.user.id);
  });

  it("shows the signed-in user's own email in the AuthPayload of login, without an error", async () => {
    // The payload's user is the caller, but the request itself is anonymous (it is a sign-in).
    const res = await h.gql<{ login: { user: { id: string; email: string | null } } }>(
      'mutation($input: LoginInput!) { login(input: $input) { user { id email } } }',
      { input: { email: 'demo@example.com', password: PASSWORD } },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data?.login.user).toEqual({ id: registered.user.id, email: 'demo@example.com' });
  });

  it.each(['demo@example.com', 'DEMO@EXAMPLE.COM', ' Demo@example.com'])('refuses a second account for %j with CONFLICT', async (email) => {
    const res = await h.gql(REGISTER, { input: { email, password: 'another-Passw0rd!', displayName: 'Copy' } });
    expect(Object.values(res.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
    expect(codesByPath(res.errors)).toEqual({ register: 'CONFLICT' });
  });

  it.each([
    ['too short', 'Sh0rt!x'],
    ['too long', `Aa1!${'x'.repeat(130)}`],
    ['fewer than 5 different characters', 'abababababab'],
    ['containing the email local part', 'my-walter.white-pw'],
  ])('refuses a weak password (%s) with BAD_USER_INPUT on input.password, without echoing it', async (_label, password) => {
    const res = await h.gql(REGISTER, { input: { email: 'walter.white@example.com', password, displayName: 'Walter' } });
    expect(Object.values(res.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.password' });
    expect(res.errors![0]!.message).not.toContain(password);
    // Nothing was created: the same email registers once the password is acceptable.
    expect((await login('walter.white@example.com', password)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each(['not-an-email', 'a@b', 'two@@example.com', 'spa ce@example.com', '', `${'x'.repeat(65)}@example.com`])(
    'refuses the email %j with BAD_USER_INPUT on input.email',
    async (email) => {
      const res = await h.gql(REGISTER, { input: { email, password: PASSWORD, displayName: 'X' } });
      expect(Object.values(res.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
      expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.email' });
    },
  );

  it.each([
    ['displayName', { displayName: '   ' }, 'input.displayName'],
    ['displayName', { displayName: 'x'.repeat(65) }, 'input.displayName'],
    ['locale', { displayName: 'Ok', locale: 'English' }, 'input.locale'],
  ])('refuses an invalid %s with BAD_USER_INPUT naming it', async (_label, fields, field) => {
    const res = await h.gql(REGISTER, { input: { email: 'valid.person@example.com', password: PASSWORD, ...fields } });
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
  });
});

describe('login failures', () => {
  it('gives an unknown email and a wrong password the same UNAUTHENTICATED error', async () => {
    await register(h, 'known@example.com', 'Known');
    const unknown = await login('nobody@example.com');
    const wrong = await login('known@example.com', 'wrong-password-123');
    for (const res of [unknown, wrong]) {
      expect(Object.values(res.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
      expect(codesByPath(res.errors)).toEqual({ login: 'UNAUTHENTICATED' });
    }
    expect(unknown.errors![0]!.message).toBe(wrong.errors![0]!.message);
    expect(unknown.errors![0]!.message).not.toMatch(/nobody|known|wrong-password/);
  });
});

describe('refresh tokens', () => {
  let session: Tokens;

  beforeAll(async () => {
    session = await register(h, 'rotator@example.com', 'Rotator');
  });

  it('rotates: a refresh returns new tokens for the same user, and the new access token works', async () => {
    const first = await refresh(session.refreshToken);
    expect(first.errors).toBeUndefined();
    const rotated = first.data!.refreshToken;
    expect(rotated.user.id).toBe(session.user.id);
    expect(rotated.refreshToken).not.toBe(session.refreshToken);
    expect((await me(rotated.accessToken)).data?.me?.id).toBe(session.user.id);

    // The rotated token is itself single-use and rotates again.
    const second = await refresh(rotated.refreshToken);
    expect(second.errors).toBeUndefined();
    session = { ...session, refreshToken: second.data!.refreshToken.refreshToken };
  });

  it('treats reuse of a spent token as theft: UNAUTHENTICATED, and the whole sign-in is revoked', async () => {
    const victim = await login('rotator@example.com');
    const spent = victim.data!.login.refreshToken;
    const rotated = (await refresh(spent)).data!.refreshToken.refreshToken;
    // The legitimate client moves on; a retry window no longer covers the spent token.
    const current = (await refresh(rotated)).data!.refreshToken.refreshToken;

    const reuse = await refresh(spent);
    expect(reuse.data?.refreshToken ?? null).toBeNull();
    expect(codesByPath(reuse.errors)).toEqual({ refreshToken: 'UNAUTHENTICATED' });

    // The token issued by the legitimate rotation no longer works either.
    const afterTheft = await refresh(current);
    expect(codesByPath(afterTheft.errors)).toEqual({ refreshToken: 'UNAUTHENTICATED' });

    // Another sign-in of the same user is a different family and keeps working.
    const other = await refresh(session.refreshToken);
    expect(other.errors).toBeUndefined();
    session = { ...session, refreshToken: other.data!.refreshToken.refreshToken };
  });

  it('refuses a token it never issued', async () => {
    expect(codesByPath((await refresh('made-up-token')).errors)).toEqual({ refreshToken: 'UNAUTHENTICATED' });
  });

  it('logout ends the sign-in: the token no longer refreshes, and a second logout reports false', async () => {
    const res = await h.gql<{ logout: boolean }>(LOGOUT, { token: session.refreshToken });
    expect(res.data).toEqual({ logout: true });
    expect(codesByPath((await refresh(session.refreshToken)).errors)).toEqual({ refreshToken: 'UNAUTHENTICATED' });
    expect((await h.gql(LOGOUT, { token: session.refreshToken })).data).toEqual({ logout: false });
    expect((await h.gql(LOGOUT, { token: 'never-issued' })).data).toEqual({ logout: false });
  });

  it('logout with a spent token of the sign-in also revokes its current token', async () => {
    const fresh = (await login('rotator@example.com')).data!.login.refreshToken;
    const current = (await refresh(fresh)).data!.refreshToken.refreshToken;
    expect((await h.gql(LOGOUT, { token: fresh })).data).toEqual({ logout: true });
    expect(codesByPath((await refresh(current)).errors)).toEqual({ refreshToken: 'UNAUTHENTICATED' });
  });
});

describe('me', () => {
  it('is null without error for an anonymous request', async () => {
    const res = await me();
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ me: null });
  });

  it('is null for a valid token whose account does not exist', async () => {
    const res = await me(await testToken({ id: randomUUID() }));
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ me: null });
  });

  it('refuses a token signed with another key with 401', async () => {
    const res = await me(await testToken({ id: randomUUID() }, { key: signingKeyFromJwk(generateSigningJwk()) }));
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('updateProfile', () => {
  const UPDATE = 'mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { id displayName locale } }';
  let account: Tokens;

  beforeAll(async () => {
    account = await register(h, 'profile@example.com', 'Before');
  });

  it('refuses an anonymous caller with UNAUTHENTICATED', async () => {
    const res = await h.gql(UPDATE, { input: { displayName: 'Anon' } });
    expect(Object.values(res.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
    expect(codesByPath(res.errors)).toEqual({ updateProfile: 'UNAUTHENTICATED' });
  });

  it('changes the given fields (trimmed) and keeps the others', async () => {
    const res = await h.gql(UPDATE, { input: { displayName: '  After  ' } }, account.accessToken);
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ updateProfile: { id: account.user.id, displayName: 'After', locale: 'zh-CN' } });
    const res2 = await h.gql(UPDATE, { input: { locale: 'en-GB' } }, account.accessToken);
    expect(res2.data).toEqual({ updateProfile: { id: account.user.id, displayName: 'After', locale: 'en-GB' } });
    expect((await me(account.accessToken)).data?.me).toMatchObject({ displayName: 'After', locale: 'en-GB' });
  });

  it('answers `me` from the entity cache (no SQL the second time) and shows a change at once', async () => {
    const reader = await register(h, 'cached-profile@example.com', 'Cached');
    const first = await h.countStatements(() => me(reader.accessToken));
    expect(first.result.data?.me).toMatchObject({ displayName: 'Cached' });
    expect(first.statements).toBe(1);
    const second = await h.countStatements(() => me(reader.accessToken));
    expect(second.result.data?.me).toMatchObject({ displayName: 'Cached' });
    expect(second.statements).toBe(0);
    await h.gql(UPDATE, { input: { displayName: 'Changed' } }, reader.accessToken);
    const third = await h.countStatements(() => me(reader.accessToken));
    expect(third.result.data?.me).toMatchObject({ displayName: 'Changed' });
    expect(third.statements).toBe(1);
  });

  it.each([
    [{}, 'input'],
    [{ displayName: null, locale: null }, 'input'],
    [{ displayName: '' }, 'input.displayName'],
    [{ displayName: 'x'.repeat(65) }, 'input.displayName'],
    [{ displayName: 'bell\u0007' }, 'input.displayName'],
    [{ locale: 'not a locale' }, 'input.locale'],
    [{ displayName: 'Valid', locale: 'ZH' }, 'input.locale'],
  ])('refuses %j with BAD_USER_INPUT on %s and changes nothing', async (input, field) => {
    const res = await h.gql(UPDATE, { input }, account.accessToken);
    expect(Object.values(res.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
    expect(res.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    expect((await me(account.accessToken)).data?.me).toMatchObject({ displayName: 'After', locale: 'en-GB' });
  });
});

import { ConfigError, generateSigningJwk, SESSION_ENDED_HEADER } from '@suoke/platform';
import { gatewayHeaders, startTestSubgraph } from '@suoke/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_REFRESH_TOKEN_SECRET, loadUserConfig } from '../src/config.js';
import { definition } from '../src/server.js';
import { codesByPath, LOGOUT, REFRESH, register, type Tokens, type UserHarness } from './harness.js';

// The user subgraph's side of sessions; tests/sessions.test.ts drives them through the gateway.

let strict: UserHarness;

beforeAll(async () => {
  const started = await startTestSubgraph(definition, { env: { REFRESH_REUSE_GRACE_SECONDS: '0' } });
  strict = { ...started, testDb: started.testDatabase, gql: started.gql as UserHarness['gql'] };
});
afterAll(async () => {
  await strict?.close();
});

describe('REFRESH_REUSE_GRACE_SECONDS=0', () => {
  it('every reuse revokes the sign-in, even an immediate retry', async () => {
    const session = await register(strict, 'strict@example.com');
    const rotated = await strict.gql<{ refreshToken: Tokens }>(REFRESH, { token: session.refreshToken });
    expect(rotated.errors).toBeUndefined();
    expect(codesByPath((await strict.gql(REFRESH, { token: session.refreshToken })).errors)).toEqual({ refreshToken: 'UNAUTHENTICATED' });
    expect(codesByPath((await strict.gql(REFRESH, { token: rotated.data!.refreshToken.refreshToken })).errors)).toEqual({ refreshToken: 'UNAUTHENTICATED' });
  });
});

describe('the ended session in the answer to the gateway', () => {
  const logout = async (token: string) => {
    const response = await fetch(strict.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...gatewayHeaders() },
      body: JSON.stringify({ query: LOGOUT, variables: { token } }),
    });
    return { header: response.headers.get(SESSION_ENDED_HEADER), body: (await response.json()) as { data?: { logout: boolean } } };
  };

  it('names the sign-in a logout ended, until the last of its access tokens expires; nothing for a logout that ended nothing', async () => {
    const session = await register(strict, 'header@example.com');
    const sid = JSON.parse(Buffer.from(session.accessToken.split('.')[1]!, 'base64url').toString('utf8')).sid as string;
    const ended = await logout(session.refreshToken);
    expect(ended.body.data).toEqual({ logout: true });
    const [named, until] = (ended.header ?? '').split(' ');
    expect(named).toBe(sid);
    // ACCESS_TOKEN_TTL_SECONDS (900) and a margin for clock skew.
    expect(Number(until) - Date.now()).toBeGreaterThan(900_000);
    expect(Number(until) - Date.now()).toBeLessThan(960_000);
    const again = await logout(session.refreshToken);
    expect(again.body.data).toEqual({ logout: false });
    expect(again.header).toBeNull();
  });
});

describe('configuration', () => {
  const problems = (env: NodeJS.ProcessEnv) => {
    try {
      loadUserConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };
  const production = { NODE_ENV: 'production', JWT_JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json', JWT_SIGNING_KEYS: JSON.stringify({ keys: [generateSigningJwk()] }), GATEWAY_SECRET: 'a-production-gateway-secret' };

  it('production needs its own REFRESH_TOKEN_SECRET', () => {
    expect(problems(production)).toContainEqual(expect.stringMatching(/^REFRESH_TOKEN_SECRET: .*required/));
    expect(problems({ ...production, REFRESH_TOKEN_SECRET: DEV_REFRESH_TOKEN_SECRET })).toContainEqual(expect.stringMatching(/^REFRESH_TOKEN_SECRET: the development secret is refused/));
    expect(problems({ ...production, REFRESH_TOKEN_SECRET: 'x'.repeat(40) })).toEqual([]);
  });

  it('defaults: a 30 s retry window; at most 300 s', () => {
    expect(loadUserConfig({}).REFRESH_REUSE_GRACE_SECONDS).toBe(30);
    expect(problems({ REFRESH_REUSE_GRACE_SECONDS: '301' })).toHaveLength(1);
  });
});

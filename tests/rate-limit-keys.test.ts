import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createRedis } from '@suoke/platform';
import { testToken } from '@suoke/platform/testing';
import { codes, post, randomClientIp, startStack, type GraphQLResponse, type Stack } from './harness.js';

/**
 * Issue 18, "Rate-limit keys": each attack as an outsider would make it, through
 * the gateway (client addresses via X-Forwarded-For, TRUSTED_PROXY_HOPS=1), and
 * against the user subgraph directly where the subgraph enforces too.
 */
const PASSWORD = 'correct-horse-battery-2026';
const FAILURE_LIMIT = 8;
// The harness's gateway secret: a direct call with it is a call from the gateway.
const GATEWAY_SECRET = 'harness-gateway-secret-0123456789';

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const freshEmail = (tag: string) => `${tag}-${randomUUID()}@example.com`;
const loginOp = (email: string, password = 'wrong-password-123') =>
  `mutation { login(input: { email: ${JSON.stringify(email)}, password: ${JSON.stringify(password)} }) { accessToken } }`;
const registerOp = (email: string) =>
  `mutation { register(input: { email: ${JSON.stringify(email)}, password: "${PASSWORD}", displayName: "R" }) { accessToken } }`;

describe('rate-limit keys, attacked through the gateway', () => {
  let stack: Stack;
  const login = (ip: string, email: string, password?: string, token?: string) => stack.query(loginOp(email, password), {}, token, from(ip));
  const register = async (email: string) => {
    const response = await stack.query(registerOp(email));
    expect(response.errors).toBeUndefined();
    return response;
  };
  const direct = (ip: string, query: string, token?: string) =>
    post<Record<string, any>>(stack.subgraphUrls.user!, { query }, token, { 'x-gateway-secret': GATEWAY_SECRET, 'x-suoke-client-ip': ip });

  beforeAll(async () => {
    stack = await startStack({ subgraphEnv: { LOGIN_ACCOUNT_FAILURE_LIMIT: String(FAILURE_LIMIT) } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('no collateral lockout: attempts an address key refuses charge no victim, and the victims sign in', async () => {
    const victims = [freshEmail('victim'), freshEmail('victim')];
    for (const email of victims) await register(email);
    const attacker = randomClientIp();
    let spent = 0;
    while (spent < 40 && !codes(await login(attacker, freshEmail('throwaway'))).includes('RATE_LIMITED')) spent += 1;
    expect(spent).toBe(20);
    for (const email of victims) {
      for (let i = 0; i < 10; i += 1) expect(codes(await login(attacker, email))).toEqual(['RATE_LIMITED']);
    }
    for (const email of victims) {
      const owner = await login(randomClientIp(), email, PASSWORD);
      expect(owner.errors).toBeUndefined();
      expect(owner.data?.login.accessToken).toEqual(expect.any(String));
    }
  });

  it('no collateral lockout the other way: refused attempts on one email leave the address its other attempts', async () => {
    const mine = freshEmail('mine');
    await register(mine);
    const ip = randomClientIp();
    const target = freshEmail('target');
    const outcomes = [];
    for (let i = 0; i < 20; i += 1) outcomes.push(codes(await login(ip, target))[0]);
    expect(outcomes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(5);
    expect(outcomes.filter((c) => c === 'RATE_LIMITED')).toHaveLength(15);
    // 20 attempts were made, 5 were charged: the address's own 20 per minute still has room.
    expect((await login(ip, mine, PASSWORD)).errors).toBeUndefined();
  });

  it('smart lockout: many addresses fail on one account past its threshold; the owner still signs in, new address or known', async () => {
    const email = freshEmail('owner');
    const home = randomClientIp();
    await register(email);
    expect((await login(home, email, PASSWORD)).errors).toBeUndefined();
    const attackers = Array.from({ length: 4 }, () => randomClientIp());
    // 4 addresses x 2 failures reach the threshold (8 in this stack); none of them alone is near its own limit.
    for (const ip of attackers) for (let i = 0; i < 2; i += 1) expect(codes(await login(ip, email))).toEqual(['UNAUTHENTICATED']);

    // Past the threshold: an address that failed here is refused for the rest of the window.
    const refused = await login(attackers[0]!, email);
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    const retryAfter = Number(refused.errors?.[0]?.extensions?.retryAfter);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // A fresh address gets one attempt; several at once still get one between them.
    const fresh = randomClientIp();
    const burst = await Promise.all(Array.from({ length: 3 }, () => login(fresh, email)));
    expect(burst.map((r) => codes(r)[0]).sort()).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'UNAUTHENTICATED']);
    expect(codes(await login(fresh, email))).toEqual(['RATE_LIMITED']);

    // The owner: from the address that signed in before, and from one never seen.
    const atHome = await login(home, email, PASSWORD);
    expect(atHome.errors).toBeUndefined();
    const travelling = await login(randomClientIp(), email, PASSWORD);
    expect(travelling.errors).toBeUndefined();
    expect(travelling.data?.login.accessToken).toEqual(expect.any(String));
  });

  it('bounded keys: an email longer than 254 characters is refused before anything is counted, at the gateway and in the subgraph', async () => {
    const tooLong = `${'a'.repeat(64)}@${'b'.repeat(186)}.com`;
    expect(tooLong).toHaveLength(255);
    const ip = randomClientIp();
    const fetches = stack.subgraphFetches();
    for (let i = 0; i < 25; i += 1) {
      const response = await login(ip, tooLong);
      expect(response.status).toBe(400);
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    }
    expect(stack.subgraphFetches()).toBe(fetches);
    const target = freshEmail('after-long');
    for (let i = 0; i < 5; i += 1) expect(codes(await login(ip, target))).toEqual(['UNAUTHENTICATED']);

    const direct1 = '198.18.' + [0, 0].map(() => Math.floor(Math.random() * 255)).join('.');
    for (let i = 0; i < 25; i += 1) expect(codes(await direct(direct1, loginOp(tooLong)))).toEqual(['BAD_USER_INPUT']);
    const directTarget = freshEmail('after-long-direct');
    for (let i = 0; i < 5; i += 1) expect(codes(await direct(direct1, loginOp(directTarget)))).toEqual(['UNAUTHENTICATED']);
  });

  it.skipIf(!process.env.REDIS_URL)('bounded keys: no counter key holds the client text it was built from', async () => {
    const marker = `keymarker${randomUUID().replaceAll('-', '')}`;
    await login(randomClientIp(), `${marker}@example.com`);
    const redis = createRedis(process.env.REDIS_URL!, createLogger({ service: 'test', level: 'silent' }));
    try {
      await new Promise((resolve) => redis.once('ready', resolve));
      const keys = await redis.keys('suoke:rl:*login*');
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.filter((k) => k.includes(marker))).toEqual([]);
      expect(Math.max(...keys.map((k) => k.length))).toBeLessThan(160);
    } finally {
      redis.disconnect();
    }
  });

  it('register and login count per address whatever token the caller carries', async () => {
    const ip = randomClientIp();
    let token: string | undefined;
    const outcomes: string[][] = [];
    for (let i = 0; i < 4; i += 1) {
      const response: GraphQLResponse<Record<string, any>> = await stack.query(registerOp(freshEmail('chain')), {}, token, from(ip));
      outcomes.push(codes(response));
      token = response.data?.register?.accessToken ?? token;
    }
    expect(outcomes).toEqual([[], [], [], ['RATE_LIMITED']]);

    const target = freshEmail('tokened');
    for (let i = 0; i < 5; i += 1) expect(codes(await login(ip, target, undefined, await testToken({ id: randomUUID() })))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await login(ip, target, undefined, await testToken({ id: randomUUID() })))).toEqual(['RATE_LIMITED']);

    // The subgraph's own enforcement (called without the gateway's budget) keys the same way.
    const directIp = randomClientIp();
    const directOutcomes: string[][] = [];
    for (let i = 0; i < 4; i += 1) directOutcomes.push(codes(await direct(directIp, registerOp(freshEmail('direct')), await testToken({ id: randomUUID() }))));
    expect(directOutcomes).toEqual([[], [], [], ['RATE_LIMITED']]);
  });

  it('IPv6: a /64 is one address; another /64 is not; IPv4-mapped IPv6 is the IPv4 address', async () => {
    const hex = () => Math.floor(Math.random() * 0xffff).toString(16);
    const net = `2001:db8:${hex()}:${hex()}`;
    const target = freshEmail('v6');
    for (let i = 0; i < 3; i += 1) expect(codes(await login(`${net}::1`, target))).toEqual(['UNAUTHENTICATED']);
    for (let i = 0; i < 2; i += 1) expect(codes(await login(`${net}:ffff:1234:abcd:2`, target))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await login(`${net}:9::3`, target))).toEqual(['RATE_LIMITED']);
    expect(codes(await login(`2001:db8:${hex()}:${hex()}::1`, target))).toEqual(['UNAUTHENTICATED']);

    const v4 = `198.18.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}`;
    const other = freshEmail('v4');
    for (let i = 0; i < 3; i += 1) expect(codes(await login(v4, other))).toEqual(['UNAUTHENTICATED']);
    for (let i = 0; i < 2; i += 1) expect(codes(await login(`::ffff:${v4}`, other))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await login(v4, other))).toEqual(['RATE_LIMITED']);
  });

  it('an operation of only __typename, with comments or not, counts against the default limit (300 per minute)', async () => {
    const ip = randomClientIp();
    const forms = ['{ __typename }', 'query { a: __typename b: __typename }', '# c\n{__typename}'];
    const fetches = stack.subgraphFetches();
    for (let i = 0; i < 300; i += 1) {
      const response = await stack.query(forms[i % forms.length]!, {}, undefined, from(ip));
      expect(response.errors).toBeUndefined();
    }
    const refused = await stack.query('{ __typename }', {}, undefined, from(ip));
    expect(refused.status).toBe(429);
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    expect(stack.subgraphFetches()).toBe(fetches);
    expect((await stack.query('{ __typename }', {}, undefined, from(randomClientIp()))).errors).toBeUndefined();
  });
});

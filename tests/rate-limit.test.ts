import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createRedis, RateLimitStore, redisReady } from '@suoke/platform';
import { createTestDatabase, freePort, gatewayHeaders, TEST_GATEWAY_SECRET, testServiceToken, testToken, type TestDatabase } from '@suoke/platform/testing';
import { definition as user } from '../subgraphs/user/src/server.js';
import { codes, post, randomClientIp, repoRoot, startStack, type Stack } from './harness.js';

const LOGIN = (alias = 'login', email = `nobody-${Math.random().toString(36).slice(2)}@example.com`) =>
  `${alias}: login(input: { email: "${email}", password: "wrong-password-123" }) { accessToken }`;
const log = createLogger({ service: 'rate-limit-test', level: 'silent', format: 'json' });

describe('the supergraph carries the limits', () => {
  it('keeps @rateLimit on the fields, as each subgraph declared it', () => {
    const supergraph = readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8');
    expect(supergraph).toContain('@link(url: "https://specs.suoke.life/rateLimit/v1.0", import: ["@rateLimit"])');
    expect(supergraph).toMatch(
      /login\([\s\S]*?\): AuthPayload @join__field\(graph: USER\) @rateLimit\(limit: 20, duration: 60, by: "address", alsoPer: "input.email", alsoPerLimit: 5/,
    );
    expect(supergraph).toMatch(/register\([\s\S]*?\): AuthPayload @join__field\(graph: USER\) @rateLimit\(limit: 3, duration: 3600, by: "address"\)/);
    expect(supergraph).toMatch(/directive @rateLimit\([\s\S]*?by: String[\s\S]*?alsoPerLimit: Int[\s\S]*?\) on OBJECT \| FIELD_DEFINITION/);
    expect(supergraph).toMatch(/recordObservations\([\s\S]*?@rateLimit\(limit: 60, duration: 60\)/);
    expect(supergraph).toMatch(/search\([\s\S]*?\): \[SearchHit!\] @join__field\(graph: KNOWLEDGE\) @rateLimit\(limit: 120, duration: 60\)/);
  });
});

describe('through the gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('allows exactly 5 sign-in attempts per (IP, email), then refuses the whole operation before any subgraph fetch', async () => {
    const ip = { 'x-forwarded-for': randomClientIp() };
    const email = `target-${crypto.randomUUID()}@example.com`;
    for (let i = 0; i < 5; i += 1) {
      const attempt = await stack.query(`mutation { ${LOGIN('login', email)} }`, {}, undefined, ip);
      expect(codes(attempt)).toEqual(['UNAUTHENTICATED']);
    }
    const fetchesBefore = stack.subgraphFetches();
    const refused = await stack.query(`mutation { ${LOGIN('login', email.toUpperCase())} }`, {}, undefined, ip);
    expect(stack.subgraphFetches()).toBe(fetchesBefore);
    expect(refused.status).toBe(429);
    expect(codes(refused)).toEqual(['RATE_LIMITED']);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.errors?.[0]?.extensions?.retryAfter).toBe(retryAfter);
    expect(refused.errors?.[0]?.message).toBe('Too many sign-in attempts: wait a minute and try again');
  });

  it('counts per IP across emails as well: 20 a minute, so one address cannot spray many accounts', async () => {
    const ip = { 'x-forwarded-for': randomClientIp() };
    for (let i = 0; i < 20; i += 1) expect(codes(await stack.query(`mutation { ${LOGIN()} }`, {}, undefined, ip))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await stack.query(`mutation { ${LOGIN()} }`, {}, undefined, ip))).toEqual(['RATE_LIMITED']);
    // Another address is not affected (post() picks a new one).
    expect(codes(await stack.query(`mutation { ${LOGIN()} }`))).toEqual(['UNAUTHENTICATED']);
  });

  it('counts 12 aliased calls in one operation as 12 (the alias limit is 15); the other fields still resolve', async () => {
    const ip = { 'x-forwarded-for': randomClientIp() };
    const email = `aliased-${crypto.randomUUID()}@example.com`;
    const aliases = Array.from({ length: 12 }, (_, i) => LOGIN(`a${i}`, email)).join('\n');
    const response = await stack.query(`mutation { ${aliases} logout(refreshToken: "not-a-token") }`, {}, undefined, ip);
    expect(response.status).toBe(200);
    const byCode = codes(response).reduce<Record<string, number>>((acc, code) => ({ ...acc, [code]: (acc[code] ?? 0) + 1 }), {});
    expect(byCode).toEqual({ UNAUTHENTICATED: 5, RATE_LIMITED: 7 });
    expect(response.data?.logout).toBe(false);
    const limited = response.errors!.filter((e) => e.extensions?.code === 'RATE_LIMITED').map((e) => e.path?.[0]);
    expect(limited).toEqual(Array.from({ length: 7 }, (_, i) => `a${i + 5}`));
  });

  it('keys signed-in callers by user: user B is unaffected by user A on the same IP', async () => {
    const ip = { 'x-forwarded-for': randomClientIp() };
    const [a, b] = await Promise.all([testToken({ id: crypto.randomUUID() }), testToken({ id: crypto.randomUUID() })]);
    const record = (n: number) =>
      `mutation { recordObservations(input: [{ externalId: "rl-${n}", type: STEPS, value: ${n}, recordedAt: "${new Date(Date.now() - n * 1000).toISOString()}" }]) { inserted } }`;
    for (let i = 0; i < 60; i += 1) expect((await stack.query(record(i), {}, a, ip)).errors).toBeUndefined();
    expect(codes(await stack.query(record(60), {}, a, ip))).toEqual(['RATE_LIMITED']);
    const other = await stack.query(record(0), {}, b, ip);
    expect(other.errors).toBeUndefined();
    expect(other.data?.recordObservations.inserted).toBe(1);
  });

  it('does not count the platform’s own services: their calls come from user requests that were counted', async () => {
    // register allows 3 per hour per caller; a service token is never refused, at the gateway or in the subgraph.
    const service = await testServiceToken('agent', []);
    const ip = { 'x-forwarded-for': randomClientIp() };
    const register = (i: number) => `r${i}: register(input: { email: "svc-${i}-${crypto.randomUUID()}@example.com", password: "service-exempt-2026", displayName: "S${i}" }) { user { id } }`;
    const response = await stack.query(`mutation { ${[0, 1, 2, 3, 4].map(register).join(' ')} }`, {}, service, ip);
    expect(response.status).toBe(200);
    expect(codes(response)).toEqual([]);
    expect(Object.values(response.data ?? {}).filter(Boolean)).toHaveLength(5);
    // The same from an anonymous client on that IP: the fourth is refused.
    const anonymous = await stack.query(`mutation { ${[5, 6, 7, 8].map(register).join(' ')} }`, {}, undefined, ip);
    expect(codes(anonymous)).toEqual(['RATE_LIMITED']);
  });
});

describe('the embedded default (no Redis)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: { REDIS_URL: '' }, subgraphEnv: { REDIS_URL: '' } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('enforces the limits in memory', async () => {
    const ip = { 'x-forwarded-for': randomClientIp() };
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(codes(await stack.query(`mutation { register(input: { email: "mem${i}-${Date.now()}@example.com", password: "p4ss-word-long-enough", displayName: "M" }) { accessToken } }`, {}, undefined, ip)));
    expect(results).toEqual([[], [], [], ['RATE_LIMITED']]);
  });
});

describe('subgraph replicas sharing one Redis', () => {
  const replicas: { url: string; stop(): Promise<void> }[] = [];
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase('user');
    await user.migrate(testDb.database);
    // With no Redis configured the three replicas share one in-memory store, which stands in for it.
    const shared = process.env.REDIS_URL ? undefined : new RateLimitStore(undefined);
    for (let i = 0; i < 3; i += 1) {
      const config = user.loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', GATEWAY_SECRET: TEST_GATEWAY_SECRET, REDIS_URL: process.env.REDIS_URL ?? '' });
      const replica = user.create({ config, database: testDb.database, ...(shared ? { rateLimitStore: shared } : {}) });
      const { url } = await replica.listen(0, '127.0.0.1');
      replicas.push({ url, stop: () => replica.stop() });
    }
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.stop();
    await testDb?.drop();
  });

  it('allows exactly L calls across the replicas and rejects call L+1', async () => {
    const headers = gatewayHeaders(randomClientIp());
    const outcomes: string[][] = [];
    for (let i = 0; i < 31; i += 1) {
      const replica = replicas[i % 3]!;
      outcomes.push(codes(await post(replica.url, { query: 'mutation { refreshToken(token: "unknown") { accessToken } }' }, undefined, headers)));
    }
    expect(outcomes.slice(0, 30).every((c) => c.length === 1 && c[0] === 'UNAUTHENTICATED')).toBe(true);
    expect(outcomes[30]).toEqual(['RATE_LIMITED']);
  });
});


function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const probe = async () => {
      const redis = createRedis(`redis://127.0.0.1:${port}`, log);
      try {
        await new Promise<void>((ok, fail) => {
          redis.once('ready', ok);
          redis.once('error', fail);
        });
        resolve(child);
      } catch {
        if (Date.now() > deadline) reject(new Error('redis-server did not start'));
        else setTimeout(probe, 100);
      } finally {
        redis.disconnect();
      }
    };
    void probe();
  });
}

describe('when Redis fails', () => {
  let port: number;
  let redis: ChildProcess | undefined;
  let stack: Stack;
  beforeAll(async () => {
    port = await freePort();
    redis = await startRedis(port);
    const url = `redis://127.0.0.1:${port}`;
    stack = await startStack({ gatewayEnv: { REDIS_URL: url }, subgraphEnv: { REDIS_URL: url } });
  });
  afterAll(async () => {
    await stack?.stop();
    redis?.kill('SIGKILL');
  });

  it('falls back to the per-process insurance limiter, and returns to Redis when it is back', async () => {
    const token = await testToken({ id: crypto.randomUUID() });
    const ask = () => stack.query('{ me { id } }', {}, token);
    for (let i = 0; i < 5; i += 1) expect((await ask()).errors).toBeUndefined();

    redis!.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const during = [];
    for (let i = 0; i < 20; i += 1) during.push(await ask());
    expect(during.every((r) => r.status === 200 && (r.errors ?? []).every((e) => e.extensions?.code === 'RATE_LIMITED'))).toBe(true);
    expect(during.filter((r) => !r.errors).length).toBeGreaterThan(0);

    // An anonymous sign-in flood is still cut off at 5 by the local limiter.
    const ip = { 'x-forwarded-for': randomClientIp() };
    const email = `flood-${crypto.randomUUID()}@example.com`;
    const logins = [];
    for (let i = 0; i < 6; i += 1) logins.push(codes(await stack.query(`mutation { ${LOGIN('login', email)} }`, {}, undefined, ip)));
    expect(logins.at(-1)).toEqual(['RATE_LIMITED']);

    redis = await startRedis(port);
    const fresh = createRedis(`redis://127.0.0.1:${port}`, log);
    try {
      // The probe client refuses commands until it is connected (no offline queue).
      expect(await redisReady(fresh, log, 10_000)).toBe(true);
      const deadline = Date.now() + 15_000;
      let keys: string[] = [];
      while (Date.now() < deadline && keys.length === 0) {
        const response = await ask();
        expect((response.errors ?? []).every((e) => e.extensions?.code === 'RATE_LIMITED')).toBe(true);
        keys = await fresh.keys('suoke:rl:*');
        if (keys.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(keys.length).toBeGreaterThan(0);
    } finally {
      fresh.disconnect();
    }
  });
});

// GATEWAY_WORKERS=2: the compiled gateway (npm test builds first) as an operator
// runs it, a primary and two workers sharing one port, in front of the in-process
// subgraphs of the harness.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { freePort } from '@suoke/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startStack, type Stack } from './harness.js';

const PROBE = 'query ClusterProbe { constitutions { code } }';
const HARNESS_SECRET = 'harness-gateway-secret-0123456789';

let stack: Stack;
let primary: ChildProcess;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let port: number;
/** METRICS_PORT: every worker listens on it too (shared through the primary), as on GATEWAY_PORT. */
let metricsPort: number;
let output = '';

/** Pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** One request on a connection of its own (closed after), so that the primary hands each to the next worker. */
function send(method: 'GET' | 'POST', pathname: string, body?: string, headers: Record<string, string> = {}, toPort = port): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: toPort, method, path: pathname, agent: false, headers: { connection: 'close', ...(body ? { 'content-type': 'application/json' } : {}), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    // A failure must show as one, not as a test that hangs.
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${pathname} within 10 s`)));
    req.end(body);
  });
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms; gateway output: ${output.slice(-2_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ready = () => send('GET', '/health/ready').then((r) => r.status === 200, () => false);
const probeCount = (metrics: string) => Number(/suoke_graphql_requests_total\{[^}]*operation="ClusterProbe"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);

beforeAll(async () => {
  stack = await startStack();
  port = await freePort();
  metricsPort = await freePort();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(JWT_|GATEWAY_|SUBGRAPH_|OTEL_|SUPERGRAPH_|NODE_ENV$|RATE_LIMITS$|SHUTDOWN_)/.test(key)));
  primary = spawn(process.execPath, [path.join(repoRoot, 'gateway/dist/index.js')], {
    cwd: repoRoot,
    env: {
      ...clean,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      OTEL_SDK_DISABLED: 'true',
      GATEWAY_WORKERS: '2',
      // Usage recording off: GATEWAY_WORKERS > 1 needs a database for the usage store, and this test is about the cluster.
      USAGE_RECORDING: 'off',
      GATEWAY_PORT: String(port),
      METRICS_PORT: String(metricsPort),
      METRICS_OPERATION_NAMES: 'ClusterProbe',
      GATEWAY_SECRET: HARNESS_SECRET,
      SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
      ...Object.fromEntries(Object.entries(stack.subgraphUrls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, url])),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  primary.stdout!.on('data', (chunk) => (output = (output + chunk).slice(-8_000)));
  primary.stderr!.on('data', (chunk) => (output = (output + chunk).slice(-8_000)));
  exited = new Promise((resolve) => primary.once('exit', (code, signal) => resolve({ code, signal })));
  await until(ready, 60_000, 'the clustered gateway ready');
  await until(() => childrenOf(primary.pid!).length === 2, 30_000, 'two workers');
}, 120_000);

afterAll(async () => {
  if (primary && primary.exitCode === null && primary.signalCode === null) {
    for (const pid of childrenOf(primary.pid!)) process.kill(pid, 'SIGKILL');
    primary.kill('SIGKILL');
    await exited;
  }
  await stack?.stop();
});

describe('GATEWAY_WORKERS=2: a primary and two workers on one port', () => {
  it('answers from both workers, and any worker’s /metrics (on METRICS_PORT) counts the whole gateway', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => send('POST', '/graphql', JSON.stringify({ query: PROBE }))));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text).data.constitutions.length).toBeGreaterThan(0);
    }
    // Each scrape lands on whichever worker the primary picks: every one must hold the sum.
    for (let i = 0; i < 4; i += 1) {
      const metrics = await send('GET', '/metrics', undefined, {}, metricsPort);
      expect(metrics.status).toBe(200);
      expect(probeCount(metrics.text)).toBe(30);
      // With METRICS_PORT set, the public port does not serve them.
      expect((await send('GET', '/metrics')).status).toBe(404);
    }
    expect(childrenOf(primary.pid!)).toHaveLength(2);
  });

  it('a logout through one worker ends the session in both, also without Redis (relayed by the primary)', async () => {
    const registered = await stack.query('mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }', {
      input: { email: `cluster-${Date.now()}@example.com`, password: 'correct-horse-battery-9', displayName: 'Cluster' },
    });
    const { accessToken, refreshToken, user } = registered.data!.register;
    const me = () => send('POST', '/graphql', JSON.stringify({ query: '{ me { id } }' }), { authorization: `Bearer ${accessToken}` });
    // Connection by connection the primary alternates: both workers verify (and cache) the token.
    for (let i = 0; i < 4; i += 1) expect(JSON.parse((await me()).text).data.me.id).toBe(user.id);
    const logout = await send('POST', '/graphql', JSON.stringify({ query: 'mutation($t: String!) { logout(refreshToken: $t) }', variables: { t: refreshToken } }));
    expect(JSON.parse(logout.text).data).toEqual({ logout: true });
    const deadline = Date.now() + 1_000;
    let statuses: number[] = [];
    do {
      statuses = await Promise.all(Array.from({ length: 4 }, async () => (await me()).status));
    } while (statuses.some((s) => s !== 401) && Date.now() < deadline);
    expect(statuses).toEqual([401, 401, 401, 401]);
  });

  it('replaces a worker that dies, and keeps answering meanwhile', async () => {
    const [victim] = childrenOf(primary.pid!);
    process.kill(victim!, 'SIGKILL');
    // Once the primary has reaped it (a connection handed to a worker in the instant it dies is
    // lost, as with any process that dies), the survivor answers alone until the replacement is up.
    await until(() => !childrenOf(primary.pid!).includes(victim!), 10_000, 'the dead worker reaped');
    const during = await send('POST', '/graphql', JSON.stringify({ query: PROBE }));
    expect(during.status).toBe(200);
    await until(() => {
      const now = childrenOf(primary.pid!);
      return now.length === 2 && !now.includes(victim!);
    }, 20_000, 'a replacement worker');
    await until(ready, 30_000, 'ready after the replacement');
    const after = await Promise.all(Array.from({ length: 6 }, () => send('POST', '/graphql', JSON.stringify({ query: PROBE }))));
    expect(after.map((a) => a.status)).toEqual(Array(6).fill(200));
  }, 60_000);

  it('drains every worker on SIGTERM and exits 0', async () => {
    const workers = childrenOf(primary.pid!);
    primary.kill('SIGTERM');
    expect(await exited, output.slice(-3_000)).toEqual({ code: 0, signal: null });
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);
});

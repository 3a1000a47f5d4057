// The gateway's HTTP edge under attack, over real sockets: a slowloris from one
// loopback address while another client is served as usual; operation names
// chosen by strangers never become metric labels; CORS in front of Apollo's
// csrfPrevention.
import net from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { createGateway, loadGatewayConfig } from '../gateway/src/server.js';
import { randomClientIp, repoRoot, startStack, type Stack } from './harness.js';

const HEADERS_TIMEOUT_MS = 4_000;
const ATTACKERS = 500;
const KNOWN = 'EdgeProbe';
const PROBE = `query ${KNOWN} { constitutions { code name } }`;

let stack: Stack;
let port: number;
beforeAll(async () => {
  stack = await startStack({
    gatewayEnv: { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), METRICS_OPERATION_NAMES: KNOWN },
    subgraphEnv: { METRICS_OPERATION_NAMES: KNOWN },
  });
  port = Number(new URL(stack.gatewayUrl).port);
});
afterAll(async () => {
  await stack?.stop();
});

/** The ordinary client: one keep-alive connection from 127.0.0.1. */
const client = new Agent({ connect: { localAddress: '127.0.0.1' }, connections: 1 });
afterAll(() => client.close());

async function timedProbe(): Promise<number> {
  const started = performance.now();
  const res = await undiciFetch(stack.gatewayUrl, {
    method: 'POST',
    dispatcher: client,
    // Its own rate-limit key each time (TRUSTED_PROXY_HOPS=1): this measures the edge, not the limiter.
    headers: { 'content-type': 'application/json', 'x-forwarded-for': randomClientIp() },
    body: JSON.stringify({ query: PROBE }),
  });
  const body = (await res.json()) as { data?: { constitutions?: unknown[] }; errors?: unknown };
  if (res.status !== 200 || body.errors || !body.data?.constitutions?.length) throw new Error(`probe failed: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  return performance.now() - started;
}

/** Sequential probes until `count` are done or `untilMs` (performance.now()) has passed. */
async function probes(count: number, untilMs = Number.POSITIVE_INFINITY): Promise<number[]> {
  const times: number[] = [];
  while (times.length < count && performance.now() < untilMs) times.push(await timedProbe());
  return times.sort((a, b) => a - b);
}
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

interface Dripper {
  socket: net.Socket;
  openedAt: number;
  closedAt?: number;
  received: string;
}

describe('slowloris', () => {
  it(`${ATTACKERS} sockets from 127.0.0.5 dripping headers a byte a second: 127.0.0.1 is answered as before; the headers timeout closes them`, async () => {
    for (let i = 0; i < 20; i += 1) await timedProbe(); // warm-up: plans cached, pools open
    const before = await probes(150);

    const drippers: Dripper[] = await Promise.all(
      Array.from(
        { length: ATTACKERS },
        () =>
          new Promise<Dripper>((resolve, reject) => {
            const socket = net.connect({ host: '127.0.0.1', port, localAddress: '127.0.0.5' }, () => {
              socket.write('POST /graphql HTTP/1.1\r\nhost: gateway\r\nx-drip: ');
              resolve(dripper);
            });
            const dripper: Dripper = { socket, openedAt: performance.now(), received: '' };
            socket.on('data', (chunk: Buffer) => {
              dripper.received += chunk.toString('latin1');
            });
            socket.on('close', () => {
              dripper.closedAt = performance.now();
            });
            socket.on('error', (error) => (dripper.closedAt === undefined && !socket.connecting ? undefined : reject(error)));
          }),
      ),
    );
    const drip = setInterval(() => {
      for (const d of drippers) if (!d.socket.destroyed) d.socket.write('a');
    }, 1_000);
    try {
      const attackStart = Math.min(...drippers.map((d) => d.openedAt));
      // Measured while every dripping socket is still open (they are cut at HEADERS_TIMEOUT_MS).
      const during = await probes(150, attackStart + HEADERS_TIMEOUT_MS - 800);
      const openThroughout = drippers.filter((d) => d.closedAt === undefined).length;
      expect(openThroughout).toBe(ATTACKERS);
      expect(during.length).toBeGreaterThanOrEqual(30);
      // Compared with the same client's own distribution before the attack, not with a wall-clock number.
      const summary = { beforeP50: quantile(before, 0.5), beforeP99: quantile(before, 0.99), duringP50: quantile(during, 0.5), duringP95: quantile(during, 0.95), samples: during.length };
      if (process.env.EDGE_VERBOSE) process.stdout.write(`slowloris latencies (ms): ${JSON.stringify(summary)}\n`);
      expect(summary.duringP50, JSON.stringify(summary)).toBeLessThanOrEqual(summary.beforeP99);
      expect(summary.duringP95, JSON.stringify(summary)).toBeLessThanOrEqual(2 * summary.beforeP99);

      // The headers timeout, not the client, ends every dripping socket: 408, then closed.
      const deadline = performance.now() + HEADERS_TIMEOUT_MS + 10_000;
      while (drippers.some((d) => d.closedAt === undefined) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(drippers.filter((d) => d.closedAt === undefined).length).toBe(0);
      expect(drippers.filter((d) => !/^HTTP\/1\.1 408/.test(d.received)).length).toBe(0);
      expect(Math.min(...drippers.map((d) => d.closedAt! - d.openedAt))).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    } finally {
      clearInterval(drip);
      for (const d of drippers) d.socket.destroy();
    }
    // And the ordinary client still gets answers afterwards.
    await timedProbe();
  }, 60_000);
});

describe('operation-name labels', () => {
  const labels = async (url: string) => {
    const text = await (await fetch(new URL('/metrics', url))).text();
    const counts = new Map<string, number>();
    for (const [, operation, value] of text.matchAll(/^suoke_graphql_requests_total\{[^}]*operation="((?:[^"\\]|\\.)*)"[^}]*\} (\S+)$/gm)) {
      counts.set(operation!, (counts.get(operation!) ?? 0) + Number(value));
    }
    return counts;
  };

  it('turns 200 names chosen by strangers into (other); known names keep their label, in the gateway and the subgraph', async () => {
    const before = await labels(stack.gatewayUrl);
    for (let i = 0; i < 200; i += 1) {
      const name = `Stranger_${i}_${Math.random().toString(36).slice(2, 10)}`;
      const response = await stack.query(`query ${name} { __typename }`, {}, undefined, { 'x-forwarded-for': randomClientIp() });
      expect(response.status).toBe(200);
    }
    expect((await stack.query(PROBE, {}, undefined, { 'x-forwarded-for': randomClientIp() })).errors).toBeUndefined();
    const after = await labels(stack.gatewayUrl);
    expect([...after.keys()].filter((label) => !['(other)', '(anonymous)', KNOWN].includes(label))).toEqual([]);
    expect((after.get('(other)') ?? 0) - (before.get('(other)') ?? 0)).toBe(200);
    expect((after.get(KNOWN) ?? 0) - (before.get(KNOWN) ?? 0)).toBe(1);
    // The knowledge subgraph saw the planner's `EdgeProbe__knowledge__0`, labelled as the known operation.
    const knowledge = await labels(stack.subgraphUrls.knowledge!);
    expect(knowledge.get(KNOWN)).toBeGreaterThan(0);
    expect([...knowledge.keys()].filter((label) => !['(other)', '(anonymous)', KNOWN].includes(label))).toEqual([]);
  });
});

describe('CORS at the gateway', () => {
  it('answers a preflight from Apollo Studio outside production, and csrfPrevention still refuses a simple request', async () => {
    const preflight = await fetch(stack.gatewayUrl, {
      method: 'OPTIONS',
      headers: { origin: 'https://studio.apollographql.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
    const simple = await fetch(stack.gatewayUrl, {
      method: 'POST',
      headers: { origin: 'https://studio.apollographql.com', 'content-type': 'text/plain' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(simple.status).toBe(400);
    expect(await simple.text()).not.toContain('"Query"');
  });
});

describe('the gateway in production', () => {
  const start = async (env: Record<string, string>) => {
    const gateway = createGateway({
      config: loadGatewayConfig({
        // Not about field usage (tests/usage.test.ts): no store, and never the repository's .data/gateway-usage.
        USAGE_RECORDING: 'off',
        NODE_ENV: 'production',
        LOG_LEVEL: 'silent',
        JWT_JWKS_URL: `${new URL(stack.subgraphUrls.user!).origin}/.well-known/jwks.json`,
        GATEWAY_SECRET: 'harness-gateway-secret-0123456789',
        SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
        ...env,
      }),
      subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphUrls)),
    });
    const listening = await gateway.listen(0, '127.0.0.1');
    return { gateway, ...listening };
  };

  it('serves /metrics on no public port without METRICS_PORT or METRICS_TOKEN, only on METRICS_PORT with it; grants CORS to no origin', async () => {
    const bare = await start({});
    const separate = await start({ METRICS_PORT: '0' });
    try {
      expect((await fetch(new URL('/metrics', bare.url))).status).toBe(404);
      expect(bare.metricsPort).toBeUndefined();
      expect((await fetch(new URL('/metrics', separate.url))).status).toBe(404);
      const scraped = await fetch(`http://127.0.0.1:${separate.metricsPort}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('service="gateway"');
      const preflight = await fetch(bare.url, {
        method: 'OPTIONS',
        headers: { origin: 'https://studio.apollographql.com', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(403);
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await bare.gateway.stop();
      await separate.gateway.stop();
    }
  });
});

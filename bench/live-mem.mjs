// Memory per idle subscription on our gateway, after gc: `node bench/live-mem.mjs [count]` (default 1,000).
// Starts the five subgraphs and a gateway (production mode, embedded data unless DATABASE_URL/REDIS_URL), opens
// `count` notificationAdded subscriptions over WebSocket, one connection and one user each, waits until the user
// subgraph holds them all (its metrics), and prints RSS and heapUsed (both after gc) before and after, per subscription.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { establishedOn, freePort, metricsHeaders, prepareData, signTokens, spawnService, startSubgraphs, stopChild, waitReady } from './lib.mjs';
import { SERVICE_NODE_OPTIONS } from '../scripts/services.mjs';
import { repoRoot } from '../scripts/supergraph-config.mjs';

const count = Number(process.argv[2] ?? 1_000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const dir = mkdtempSync(path.join(os.tmpdir(), 'suoke-live-mem-'));
const probeFile = path.join(dir, 'mem.json');

async function memory(child) {
  rmSync(probeFile, { force: true });
  child.kill('SIGUSR2');
  for (let i = 0; i < 1200 && !existsSync(probeFile); i += 1) await sleep(50);
  await sleep(50);
  const { rss, heapUsed } = JSON.parse(readFileSync(probeFile, 'utf8'));
  return { rss, heapUsed };
}

/** Subscriptions the user subgraph holds (its suoke_subgraph_subscriptions_open). */
async function subgraphOpen(base) {
  const text = await (await fetch(`${base}/metrics`, { headers: metricsHeaders })).text();
  return Number(/^suoke_subgraph_subscriptions_open(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
}

/** Subscriptions open on the gateway (its metrics, every transport). */
async function gatewayOpen(base) {
  const text = await (await fetch(`${base}/metrics`, { headers: metricsHeaders })).text();
  return [...text.matchAll(/^suoke_subscriptions_open(?:\{[^}]*\})? (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

const data = await prepareData({ users: 3 });
const gatewayPort = await freePort();
const subgraphs = await startSubgraphs({ data, label: 'mem', gatewayPort, env: { SUBSCRIPTIONS_MAX_PER_PROCESS: '20000', HTTP_MAX_CONNECTIONS_PER_ADDRESS: '20000' } });
let gateway;
const clients = [];
try {
  const overrides = Object.fromEntries(Object.entries(subgraphs.urls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`]));
  gateway = spawnService(
    'mem/gateway',
    'gateway/dist/index.js',
    {
      ...subgraphs.base,
      ...overrides,
      MEM_PROBE_FILE: probeFile,
      SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
      GATEWAY_PORT: String(gatewayPort),
      RATE_LIMITS: 'off',
      OTEL_SDK_DISABLED: 'true',
      GATEWAY_SUBSCRIPTIONS_MAX: '20000',
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '20000',
    },
    [],
    [...SERVICE_NODE_OPTIONS, '--expose-gc', '--require', path.join(repoRoot, 'bench/tools/gc-probe.cjs')],
  );
  const base = `http://127.0.0.1:${gatewayPort}`;
  await waitReady(base, 60_000);
  const tokens = await signTokens(Array.from({ length: count }, () => randomUUID()));
  // Warm-up: one subscription opened and closed, so that lazily built state (planner, agents) is in "before".
  const open = async (token) => {
    let resolveAck;
    const acked = new Promise((resolve) => (resolveAck = resolve));
    const client = createClient({ url: `ws://127.0.0.1:${gatewayPort}/graphql`, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` }, on: { connected: resolveAck } });
    await acked;
    client.subscribe({ query: 'subscription Added { notificationAdded { id title body } }' }, { next: () => {}, error: (e) => console.error('subscription error', e), complete: () => {} });
    return client;
  };
  const warm = await open(tokens[0]);
  await sleep(1_000);
  await warm.dispose();
  await sleep(1_500);
  const before = await memory(gateway);
  const userPort = Number(new URL(subgraphs.urls.user).port);
  const connectionsBefore = establishedOn(userPort);
  for (let i = 0; i < count; i += 100) clients.push(...(await Promise.all(tokens.slice(i, i + 100).map(open))));
  const deadline = Date.now() + 60_000;
  while ((await subgraphOpen(subgraphs.urls.user)) < count && Date.now() < deadline) await sleep(200);
  await sleep(3_000);
  const streams = establishedOn(userPort) - connectionsBefore;
  const after = await memory(gateway);
  const kib = (bytes) => Math.round((bytes / 1024 / count) * 10) / 10;
  console.log(
    JSON.stringify({
      subscriptions: count,
      open: await gatewayOpen(base),
      upstreamSubscriptions: await subgraphOpen(subgraphs.urls.user),
      upstreamConnections: streams,
      rssKiBPerSub: kib(after.rss - before.rss),
      heapKiBPerSub: kib(after.heapUsed - before.heapUsed),
      before: { rssMiB: Math.round(before.rss / 2 ** 20), heapMiB: Math.round(before.heapUsed / 2 ** 20) },
    }),
  );
} finally {
  await Promise.all(clients.map((c) => c.dispose()));
  if (gateway) await stopChild(gateway);
  await subgraphs.stop();
  rmSync(dir, { recursive: true, force: true });
}

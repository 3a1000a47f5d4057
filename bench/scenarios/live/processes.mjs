// The live scenario's processes: sizes, the subscribers' process, the supergraph for Hive, our gateway or Hive's.
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GATEWAY_SECRET_HEADER } from '@suoke/platform';
import { freePort, metricsHeaders, spawnService, stopChild, waitReady } from '../../lib.mjs';
import { repoRoot } from '../../../scripts/supergraph-config.mjs';

export const HIVE_BIN = 'node_modules/@graphql-hive/gateway/dist/bin.js';
/** The live bus's Redis channel prefix (platform/src/live/bus.ts) and the user subgraph's topic (notificationTopic). */
export const CHANNEL_PREFIX = 'suoke:live:';
export const topicOf = (userId) => `user:notifications:${userId.toLowerCase()}`;
export const ADDED = 'subscription Added { notificationAdded { id title body } }';
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function sizes(quick) {
  const env = (name, full, small) => Number(process.env[name] ?? (quick ? small : full));
  return {
    quick,
    runs: env('LIVE_RUNS', 3, 1),
    idleSubs: env('LIVE_IDLE_SUBS', 5_000, 100),
    idleSeconds: env('LIVE_IDLE_SECONDS', 30, 2),
    eventSubs: quick ? 50 : 500,
    eventSeconds: quick ? 2 : 20,
    fanoutSubs: env('LIVE_FANOUT_SUBS', 1_000, 100),
    fanoutSeconds: env('LIVE_FANOUT_SECONDS', 60, 3),
    messages: quick ? 2 : 20,
    deferRuns: quick ? 3 : 20,
    /** Pause for a fresh gateway to settle, and after the subscriptions are open, before memory is read. */
    settleMs: quick ? 500 : 3_000,
  };
}

/** The subscribers' process, driven over IPC. */
export function startClientProcess() {
  const child = fork(path.join(repoRoot, 'bench/scenarios/live-client.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let next = 0;
  child.on('message', (message) => {
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    if (message.ok) waiter?.resolve(message);
    else waiter?.reject(new Error(`live client: ${message.error}`));
  });
  child.on('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`live client exited with ${code}`));
    pending.clear();
  });
  return {
    child,
    rpc(cmd, args = {}) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, cmd, ...args });
      });
    },
    stop: () => stopChild(child),
  };
}

export async function waitFor(condition, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

/** The supergraph with each join__graph URL pointing at `urls[name]` (Hive reads routing URLs from it). */
export function supergraphFor(urls, dir) {
  const source = readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8');
  const rewritten = source.replace(/@join__graph\(name: "([^"]+)", url: "[^"]*"\)/g, (_, name) => {
    if (!urls[name]) throw new Error(`supergraph names subgraph ${name}, which the bench did not start`);
    return `@join__graph(name: "${name}", url: "${urls[name]}/graphql")`;
  });
  const file = path.join(dir, 'supergraph.graphql');
  writeFileSync(file, rewritten);
  return file;
}

export async function waitGraphQL(url, child, timeoutMs = 60_000) {
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${url}: gateway exited with ${child.exitCode}`);
      try {
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
        return response.ok && (await response.json()).data?.__typename === 'Query';
      } catch {
        return false;
      }
    },
    `${url} to answer`,
    timeoutMs,
  );
}

/** Heap used (MiB) from a gateway's /metrics (prom-client's default metrics); NaN when it has none. */
export async function heapMiB(base) {
  try {
    const response = await fetch(`${base}/metrics`, { headers: metricsHeaders });
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(await response.text());
    return match ? Number(match[1]) / 2 ** 20 : NaN;
  } catch {
    return NaN;
  }
}

/** Our gateway or Hive's, as a process, on a free port, routing user to `userUrls`. */
export async function startGateway(kind, { subgraphs, userUrls, dir }) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const urls = { ...subgraphs.urls, user: userUrls[0] };
  if (kind === 'ours') {
    const overrides = Object.fromEntries(Object.entries(urls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`]));
    overrides.SUBGRAPH_USER_URL = userUrls.map((u) => `${u}/graphql`).join(',');
    const child = spawnService('live/ours', 'gateway/dist/index.js', {
      ...subgraphs.base,
      ...overrides,
      SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
      GATEWAY_PORT: String(port),
      RATE_LIMITS: 'off',
      OTEL_SDK_DISABLED: 'true',
      GATEWAY_SUBSCRIPTIONS_MAX: '20000',
      // Every subscriber connects from this machine's one address.
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '20000',
      ...(process.env.LIVE_DEBUG_LOG ? { LOG_FILE: process.env.LIVE_DEBUG_LOG } : {}),
    });
    await waitReady(base, 60_000);
    return { kind, child, base, url: `${base}/graphql`, ws: `ws://127.0.0.1:${port}/graphql` };
  }
  const supergraph = supergraphFor(urls, dir);
  const child = spawnService(
    'live/hive',
    HIVE_BIN,
    { ...subgraphs.base, GATEWAY_SECRET_HEADER },
    ['supergraph', supergraph, '--config-path', path.join(repoRoot, 'bench/peers/hive-gateway.config.mjs'), '--fork', '1', '--host', '127.0.0.1', '--port', String(port)],
    [],
  );
  await waitGraphQL(`${base}/graphql`, child);
  return { kind, child, base, url: `${base}/graphql`, ws: `ws://127.0.0.1:${port}/graphql` };
}

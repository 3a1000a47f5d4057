// Issue 19's "Measure": the live supergraph (subscriptions, streamed replies, @defer).
// Everything runs as separate processes in production mode: the five subgraphs (plus a
// second user-subgraph replica with Redis), our gateway, Hive Gateway, and the
// subscribers, which live in a process of their own (live-client.mjs, one WebSocket per
// subscriber) so that their CPU never counts as a gateway's.
//
// Parts:
//   idle        5,000 notificationAdded subscriptions open over WebSocket on our gateway:
//               gateway RSS and heap per subscription (after − before) / count, and its CPU
//               at idle over 30 s, with the heartbeats running (WebSocket pings every
//               GATEWAY_WS_KEEPALIVE_MS, 12 s; the subgraphs' SSE heartbeats every 10 s).
//   fan-out     (Redis) 1,000 subscribers over two user-subgraph replicas (the gateway is
//               given both; its balancer spreads the upstream streams), an event per
//               subscriber per second for 60 s: publish → client latency, events lost.
//   side by side  Hive Gateway against the same subgraphs and supergraph, its subgraph
//               subscriptions over graphql-sse at POST /graphql/stream (bench/peers/
//               hive-gateway.config.mjs): memory per subscription as in idle, and (Redis)
//               gateway CPU per event delivered, 500 subscribers × 1 event/s for 20 s. Our
//               gateway is given the one user replica Hive is given.
//   first token time to the first token vs the full reply, sendMessage(stream: true) then
//               messageStream, the model a fake that streams (mean 3 s); skipped while the
//               schema has no messageStream.
//   defer       time to the initial payload vs the whole result of a query with @defer, the
//               diagnosis subgraph slowed by 500 ms (a delaying proxy); skipped while the
//               gateway does not answer multipart for @defer.
// How events are produced: published on the live event bus itself (Redis PUBLISH on the
// user subgraph's topic for that user, the payload a notification as postNotification
// publishes it after its commit), by this process, with the publish time in the title. So
// the latency is the live path alone (bus → user subgraph → graphql-sse → gateway → its
// plan → WebSocket → client), not a database write; and one subscriber's events reach
// whichever replica holds its stream. Without REDIS_URL the bus is in-process and the
// event parts are skipped (said so in the output).
//
// Rate limits are off on our gateway (thousands of subscriptions from one client address);
// our gateway's per-process cap is raised to 20,000 and each subscriber is its own user; the
// per-address connection cap (HTTP_MAX_CONNECTIONS_PER_ADDRESS, default 1,024) is raised to
// 20,000 on our gateway (every subscriber connects from one address) and on the subgraphs
// (Hive opens every upstream subscription as an HTTP connection of its own; ours multiplexes
// them on one event stream per subgraph instance, graphql-sse single connection mode).
// LIVE_RUNS, LIVE_IDLE_SUBS, LIVE_IDLE_SECONDS, LIVE_FANOUT_SUBS, LIVE_FANOUT_SECONDS
// override the sizes, LIVE_DEBUG_LOG=<file> writes our gateway's log there and the subgraphs' to <file>.subgraphs
// (a run with any LIVE_ variable set records nothing).
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { GATEWAY_SECRET_HEADER } from '@suoke/platform';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import {
  cpuSeconds,
  establishedOn,
  freePort,
  latencyStats,
  log,
  median,
  metricsHeaders,
  prepareData,
  record,
  rotated,
  round,
  rssMiB,
  signTokens,
  spawnService,
  startSubgraphs,
  stopChild,
  waitReady,
} from '../lib.mjs';
import { repoRoot } from '../../scripts/supergraph-config.mjs';

const HIVE_BIN = 'node_modules/@graphql-hive/gateway/dist/bin.js';
/** The live bus's Redis channel prefix (platform/src/live/bus.ts) and the user subgraph's topic (notificationTopic). */
const CHANNEL_PREFIX = 'suoke:live:';
const topicOf = (userId) => `user:notifications:${userId.toLowerCase()}`;
const ADDED = 'subscription Added { notificationAdded { id title body } }';
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function sizes(quick) {
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
function startClientProcess() {
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

async function waitFor(condition, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

/** The supergraph with each join__graph URL pointing at `urls[name]` (Hive reads routing URLs from it). */
function supergraphFor(urls, dir) {
  const source = readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8');
  const rewritten = source.replace(/@join__graph\(name: "([^"]+)", url: "[^"]*"\)/g, (_, name) => {
    if (!urls[name]) throw new Error(`supergraph names subgraph ${name}, which the bench did not start`);
    return `@join__graph(name: "${name}", url: "${urls[name]}/graphql")`;
  });
  const file = path.join(dir, 'supergraph.graphql');
  writeFileSync(file, rewritten);
  return file;
}

async function waitGraphQL(url, child, timeoutMs = 60_000) {
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
async function heapMiB(base) {
  try {
    const response = await fetch(`${base}/metrics`, { headers: metricsHeaders });
    const match = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(await response.text());
    return match ? Number(match[1]) / 2 ** 20 : NaN;
  } catch {
    return NaN;
  }
}

/** Our gateway or Hive's, as a process, on a free port, routing user to `userUrls`. */
async function startGateway(kind, { subgraphs, userUrls, dir }) {
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

/** Upstream streams the user subgraph instances have accepted (their ESTABLISHED connections). */
const upstreamConnections = (userPorts) => userPorts.reduce((sum, port) => sum + establishedOn(port), 0);

/**
 * Subscriptions the user subgraph instances hold now (their suoke_subgraph_subscriptions_open): our gateway
 * multiplexes them on one connection per instance (graphql-sse single connection mode), Hive opens one each.
 */
async function upstreamSubscriptions(userPorts) {
  let sum = 0;
  for (const port of userPorts) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: metricsHeaders })).text();
    sum += Number(/^suoke_subgraph_subscriptions_open(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN);
  }
  return sum;
}

/**
 * Opens `tokens.length` subscriptions on `gateway` from the client process and waits until the user subgraph has
 * accepted a stream for each (counted on its port).
 */
async function openSubscriptions(client, gateway, tokens, userPorts, quick) {
  const before = await upstreamSubscriptions(userPorts);
  const started = Date.now();
  const opened = await client.rpc('open', { url: gateway.ws, tokens, query: ADDED, concurrency: 100 });
  if (opened.failures > 0) throw new Error(`${gateway.kind}: ${opened.failures} of ${tokens.length} subscribers could not connect: ${opened.firstFailures.join('; ')}`);
  try {
    await waitFor(async () => (await upstreamSubscriptions(userPorts)) >= before + tokens.length, `${tokens.length} upstream subscriptions on the user subgraph (${gateway.kind})`, quick ? 30_000 : 120_000);
  } catch (error) {
    const stats = await client.rpc('stats');
    throw new Error(`${error.message}: ${await upstreamSubscriptions(userPorts)} subscriptions (${before} before) and ${upstreamConnections(userPorts)} connections on the user subgraph; subscriptions ended ${stats.ended}, by ${JSON.stringify(stats.endings)} ${JSON.stringify(stats.messages)}`);
  }
  return { openSeconds: (Date.now() - started) / 1000 };
}

/** A notification as postNotification publishes it on the bus (subgraphs/user NotificationEvent), stamped. */
function notificationEvent(userId, seq) {
  return JSON.stringify({ id: randomUUID(), key: `bench-${seq}`, userId, kind: 'REPORT_READY', title: String(now()), body: String(seq), reportId: null, createdAt: new Date().toISOString(), readAt: null });
}

/**
 * Until every subscriber in `userIds` (the first of the client's subscribers, same order) has received one event:
 * a subgraph answers the stream before its bus subscription is live, so the first events are probes.
 */
async function probe(client, redis, userIds) {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const { perSubscriber } = await client.rpc('stats', { perSubscriber: true });
    const missing = userIds.filter((_, i) => !(perSubscriber[i] > 0));
    if (missing.length === 0) return;
    const pipeline = redis.pipeline();
    for (const id of missing) pipeline.publish(CHANNEL_PREFIX + topicOf(id), notificationEvent(id, -1));
    await pipeline.exec();
    await sleep(300);
  }
  throw new Error(`probe events did not reach every subscriber within 12 s (topic or channel renamed?)`);
}

/**
 * An event per subscriber per second for `seconds`, spread evenly (a batch every 10 ms), then up to 5 s for the last
 * ones: latency publish → client, events lost, gateway CPU per event delivered.
 */
async function publishLoad({ client, redis, gateway, userIds, seconds }) {
  await client.rpc('reset');
  const cpuBefore = cpuSeconds(gateway.child.pid);
  const total = userIds.length * seconds;
  const perMs = userIds.length / 1000;
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - started) * perMs) + 1);
    if (due > sent) {
      const pipeline = redis.pipeline();
      for (; sent < due; sent += 1) {
        const id = userIds[sent % userIds.length];
        pipeline.publish(CHANNEL_PREFIX + topicOf(id), notificationEvent(id, sent));
      }
      await pipeline.exec();
    }
    await sleep(10);
  }
  const publishSeconds = (performance.now() - started) / 1000;
  const drainDeadline = Date.now() + 5_000;
  let stats = await client.rpc('stats');
  while (stats.received < total && Date.now() < drainDeadline) {
    await sleep(100);
    stats = await client.rpc('stats');
  }
  const cpu = cpuSeconds(gateway.child.pid) - cpuBefore;
  const latency = latencyStats(stats.latencies);
  return {
    published: total,
    received: stats.received,
    lost: total - stats.received,
    publishSeconds: round(publishSeconds, 1),
    p50: latency.p50,
    p99: latency.p99,
    max: latency.max,
    gatewayCpuSeconds: round(cpu, 2),
    cpuMsPerEvent: round((cpu * 1000) / Math.max(1, stats.received), 4),
    endings: stats.endings,
  };
}

/** Idle subscriptions on a fresh gateway: memory per subscription and idle CPU; then events (Redis) on some of them. */
async function gatewayRun({ kind, subgraphs, userUrls, userPorts, client, redis, dir, s, label }) {
  const gateway = await startGateway(kind, { subgraphs, userUrls, dir });
  try {
    await sleep(s.settleMs);
    const before = { rss: rssMiB(gateway.child.pid), heap: await heapMiB(gateway.base) };
    const userIds = Array.from({ length: s.idleSubs }, () => randomUUID());
    const tokens = await signTokens(userIds);
    const { openSeconds } = await openSubscriptions(client, gateway, tokens, userPorts, s.quick);
    await sleep(s.settleMs);
    const after = { rss: rssMiB(gateway.child.pid), heap: await heapMiB(gateway.base) };
    const cpuBefore = cpuSeconds(gateway.child.pid);
    await sleep(s.idleSeconds * 1_000);
    const idleCpu = cpuSeconds(gateway.child.pid) - cpuBefore;
    const idle = {
      subscriptions: s.idleSubs,
      openSeconds: round(openSeconds, 1),
      rssBeforeMiB: round(before.rss, 1),
      rssAfterMiB: round(after.rss, 1),
      rssKiBPerSub: round(((after.rss - before.rss) * 1024) / s.idleSubs, 2),
      heapKiBPerSub: round(((after.heap - before.heap) * 1024) / s.idleSubs, 2),
      idleCpuPercent: round((idleCpu / s.idleSeconds) * 100, 2),
      stillOpen: s.idleSubs - (await client.rpc('stats')).ended,
      endings: (await client.rpc('stats')).endings,
    };
    log(`live ${label} ${kind} idle: ${JSON.stringify(idle)}`);
    let events;
    if (redis) {
      const eventIds = userIds.slice(0, s.eventSubs);
      await probe(client, redis, eventIds);
      events = await publishLoad({ client, redis, gateway, userIds: eventIds, seconds: s.eventSeconds });
      log(`live ${label} ${kind} events: ${JSON.stringify({ ...events, endings: undefined })}`);
    }
    return { idle, events };
  } finally {
    await client.rpc('close');
    await stopChild(gateway.child);
  }
}

/** The fan-out: our gateway over both user replicas. */
async function fanoutRun({ subgraphs, userUrls, userPorts, client, redis, dir, s, label }) {
  const gateway = await startGateway('ours', { subgraphs, userUrls, dir });
  try {
    const userIds = Array.from({ length: s.fanoutSubs }, () => randomUUID());
    await openSubscriptions(client, gateway, await signTokens(userIds), userPorts, s.quick);
    const spread = userPorts.map((port) => establishedOn(port));
    await probe(client, redis, userIds);
    const result = await publishLoad({ client, redis, gateway, userIds, seconds: s.fanoutSeconds });
    log(`live ${label} fan-out: ${JSON.stringify({ ...result, spread })}`);
    return { ...result, upstreamByReplica: spread };
  } finally {
    await client.rpc('close');
    await stopChild(gateway.child);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// First token: a model that streams.

/** An OpenAI-compatible fake whose replies take a lognormal time (mean `meanMs`), streamed in `chunks` even parts. */
async function startStreamingLlm({ meanMs = 3_000, sdMs = 600, chunks = 30 } = {}) {
  const sigma2 = Math.log(1 + (sdMs / meanMs) ** 2);
  const mu = Math.log(meanMs) - sigma2 / 2;
  const sample = () => Math.exp(mu + Math.sqrt(sigma2) * Math.sqrt(-2 * Math.log(Math.max(Math.random(), 1e-12))) * Math.cos(2 * Math.PI * Math.random()));
  const words = '气虚质的人常感疲乏，宜规律作息、适度运动，饮食可选山药、黄芪等平补之品。'.split('');
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (chunk) => parts.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(parts).toString('utf8') || '{}');
      const total = sample();
      const text = Array.from({ length: chunks }, (_, i) => words[i % words.length]);
      if (!body.stream) {
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: randomUUID(), object: 'chat.completion', model: body.model, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text.join('') } }] }));
        }, total);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const tick = () => {
        if (res.destroyed) return;
        if (i < chunks) {
          res.write(`data: ${JSON.stringify({ id: 'bench', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: { content: text[i] }, finish_reason: null }] })}\n\n`);
          i += 1;
          setTimeout(tick, total / chunks);
          return;
        }
        res.write(`data: ${JSON.stringify({ id: 'bench', object: 'chat.completion.chunk', model: body.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
        res.end('data: [DONE]\n\n');
      };
      setTimeout(tick, total / chunks);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${server.address().port}/v1`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

const hasMessageStream = () => /^\s+messageStream\(/m.test(readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8'));

/** sendMessage(stream: true), then messageStream: ms from the mutation's start to the first token and to the final event. */
async function firstTokenRun({ gateway, token, n }) {
  const firsts = [];
  const fulls = [];
  const client = createClient({ url: gateway.ws, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
  try {
    for (let i = 0; i < n; i += 1) {
      const started = now();
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: 'mutation ($input: SendMessageInput!) { sendMessage(input: $input) { reply { id status } } }',
          variables: { input: { agentId: 'xiaoai', text: `第${i}个问题：${randomUUID()} 我总是觉得累怎么办`, stream: true } },
        }),
      });
      const json = await response.json();
      const reply = json.data?.sendMessage?.reply;
      if (!reply?.id) throw new Error(`sendMessage(stream: true) answered ${JSON.stringify(json).slice(0, 300)}`);
      let first;
      await new Promise((resolve, reject) => {
        client.subscribe(
          { query: 'subscription ($id: ID!) { messageStream(messageId: $id) { delta done message { status } } }', variables: { id: reply.id } },
          {
            next: (result) => {
              const event = result.data?.messageStream;
              if (!event) return reject(new Error(`messageStream: ${JSON.stringify(result).slice(0, 300)}`));
              if (first === undefined && event.delta) first = now() - started;
              if (event.done) {
                fulls.push(now() - started);
                firsts.push(first ?? now() - started);
              }
            },
            error: reject,
            complete: resolve,
          },
        );
      });
    }
  } finally {
    await client.dispose();
  }
  return { firstTokenP50: round(median(firsts), 1), fullReplyP50: round(median(fulls), 1), ratio: round(median(firsts) / median(fulls), 3), messages: n };
}

// ---------------------------------------------------------------------------------------------------------------
// @defer: the diagnosis subgraph behind a proxy that holds every answer 500 ms.

async function delayingProxy(target, delayMs) {
  const server = http.createServer((req, res) => {
    const parts = [];
    req.on('data', (chunk) => parts.push(chunk));
    req.on('end', async () => {
      await sleep(delayMs);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)));
      try {
        const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : Buffer.concat(parts) });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))) };
}

const DEFERRED = `query Home { me { id displayName ... @defer { latestReport { id status primaryConstitution { name } } } } }`;

/** One @defer request: ms to the first multipart part and to the end; undefined when the answer is not multipart. */
async function deferOnce(url, token) {
  const started = now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'multipart/mixed;deferSpec=20220824, application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: DEFERRED }),
  });
  if (!/^multipart\/mixed/i.test(response.headers.get('content-type') ?? '')) {
    await response.text();
    return undefined;
  }
  let initial;
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of response.body) {
    text += decoder.decode(chunk, { stream: true });
    if (initial === undefined && /"data"\s*:/.test(text)) initial = now() - started;
  }
  return { initial, whole: now() - started, complete: /"hasNext"\s*:\s*false/.test(text) };
}

// ---------------------------------------------------------------------------------------------------------------

export async function live({ quick, command }) {
  const s = sizes(quick);
  const redisUrl = process.env.REDIS_URL;
  const custom = Object.keys(process.env).some((k) => k.startsWith('LIVE_'));
  const data = await prepareData({ users: 3 });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'suoke-live-'));
  // The second user replica shares the first's database: PostgreSQL, or with PGlite a copy of its folder made
  // before either starts (these parts never read it: events come from the bus).
  if (redisUrl && data.pgliteDir) cpSync(path.join(data.pgliteDir, 'user'), path.join(data.pgliteDir, 'user-2'), { recursive: true });
  const llm = await startStreamingLlm();
  const gatewayPort = await freePort();
  const subgraphs = await startSubgraphs({
    data,
    label: 'live',
    gatewayPort,
    env: {
      SUBSCRIPTIONS_MAX_PER_PROCESS: '20000',
      // Hive opens every upstream subscription as an HTTP connection of its own from its one address (graphql-sse,
      // distinct connections): the default cap of 1,024 connections per address would refuse the rest. (Ours needs
      // a handful: single connection mode.)
      HTTP_MAX_CONNECTIONS_PER_ADDRESS: '20000',
      LLM_BASE_URL: llm.baseUrl,
      LLM_MODEL: 'bench-model',
      LLM_API_KEY: 'bench-key',
      ...(process.env.LIVE_DEBUG_LOG ? { LOG_FILE: `${process.env.LIVE_DEBUG_LOG}.subgraphs` } : {}),
    },
  });
  const client = startClientProcess();
  let replica;
  let redis;
  const skipped = [];
  try {
    const userUrls = [subgraphs.urls.user];
    if (redisUrl) {
      const port = await freePort();
      const env = { ...subgraphs.envs.user, PORT: String(port) };
      if (data.pgliteDir) env.PGLITE_DATA_DIR = path.join(data.pgliteDir, 'user-2');
      replica = spawnService('live/user-2', 'subgraphs/user/dist/index.js', env);
      await waitReady(`http://127.0.0.1:${port}`);
      userUrls.push(`http://127.0.0.1:${port}`);
      redis = new Redis(redisUrl);
    } else {
      skipped.push('fan-out and CPU per event: REDIS_URL is not set (events are published on the Redis bus; two replicas need it)');
    }
    const userPorts = userUrls.map((u) => Number(new URL(u).port));
    const singlePorts = userPorts.slice(0, 1);

    // Side by side (and idle): rounds of ours then Hive, the order rotated each round, a fresh gateway each time.
    const runs = { ours: [], hive: [] };
    for (let round_ = 0; round_ < s.runs; round_ += 1) {
      for (const kind of rotated(['ours', 'hive'], round_)) {
        runs[kind].push(await gatewayRun({ kind, subgraphs, userUrls: userUrls.slice(0, 1), userPorts: singlePorts, client, redis, dir, s, label: `round ${round_ + 1}` }));
      }
    }
    const fanout = [];
    if (redis) for (let r = 0; r < s.runs; r += 1) fanout.push(await fanoutRun({ subgraphs, userUrls, userPorts, client, redis, dir, s, label: `run ${r + 1}` }));

    // First token and @defer, on one more gateway of ours (diagnosis behind the delaying proxy).
    let firstToken;
    let deferred;
    const proxy = await delayingProxy(subgraphs.urls.diagnosis, 500);
    const gateway = await startGateway('ours', { subgraphs: { ...subgraphs, urls: { ...subgraphs.urls, diagnosis: proxy.url } }, userUrls: userUrls.slice(0, 1), dir });
    try {
      const seeded = await data.userIds();
      const [token] = await signTokens([seeded.at(-1)]);
      if (hasMessageStream()) firstToken = await firstTokenRun({ gateway, token, n: s.messages });
      else skipped.push('first token vs full reply: the supergraph has no Subscription.messageStream yet');
      const first = await deferOnce(gateway.url, token);
      if (!first) skipped.push('@defer: the gateway does not answer multipart/mixed for @defer yet');
      else {
        const samples = [first];
        for (let i = 1; i < s.deferRuns; i += 1) samples.push(await deferOnce(gateway.url, token));
        deferred = {
          initialP50: round(median(samples.map((x) => x.initial)), 1),
          wholeP50: round(median(samples.map((x) => x.whole)), 1),
          ratio: round(median(samples.map((x) => x.initial)) / median(samples.map((x) => x.whole)), 3),
          complete: samples.every((x) => x.complete),
          runs: samples.length,
        };
      }
    } finally {
      await stopChild(gateway.child);
      await proxy.close();
    }
    for (const reason of skipped) log(`live: skipped ${reason}`);

    const pick = (list, f) => round(median(list.map(f).filter(Number.isFinite)), 2);
    const side = Object.fromEntries(
      Object.entries(runs).map(([kind, list]) => [
        kind,
        {
          rssKiBPerSub: pick(list, (r) => r.idle.rssKiBPerSub),
          heapKiBPerSub: pick(list, (r) => r.idle.heapKiBPerSub),
          idleCpuPercent: pick(list, (r) => r.idle.idleCpuPercent),
          openSeconds: pick(list, (r) => r.idle.openSeconds),
          cpuMsPerEvent: redis ? pick(list, (r) => r.events.cpuMsPerEvent) : undefined,
          eventP50: redis ? pick(list, (r) => r.events.p50) : undefined,
          eventP99: redis ? pick(list, (r) => r.events.p99) : undefined,
          eventsLost: redis ? list.reduce((n, r) => n + r.events.lost, 0) : undefined,
        },
      ]),
    );
    const fan = fanout.length
      ? { p50: pick(fanout, (r) => r.p50), p99: pick(fanout, (r) => r.p99), lost: fanout.reduce((n, r) => n + r.lost, 0), published: fanout.reduce((n, r) => n + r.published, 0), cpuMsPerEvent: pick(fanout, (r) => r.cpuMsPerEvent), spread: fanout.map((r) => r.upstreamByReplica) }
      : undefined;
    const ratios = {
      rssPerSub: round(side.ours.rssKiBPerSub / side.hive.rssKiBPerSub, 3),
      cpuPerEvent: redis ? round(side.ours.cpuMsPerEvent / side.hive.cpuMsPerEvent, 3) : undefined,
    };
    const summary = { quick, sizes: s, side, ratios, fanout: fan, firstToken, deferred, skipped, runs, fanoutRuns: fanout };
    console.log(JSON.stringify({ side, ratios, fanout: fan, firstToken, deferred, skipped }, null, 2));

    // The harness works (a quick run checks this, never the targets): every subscription held, every event counted.
    for (const list of Object.values(runs)) for (const r of list) if (r.idle.stillOpen !== s.idleSubs) throw new Error(`${r.idle.stillOpen} of ${s.idleSubs} idle subscriptions still open at the end`);
    if (redis) for (const list of Object.values(runs)) for (const r of list) if (r.events.received === 0) throw new Error('no event reached any subscriber');

    if (quick || custom) {
      log(`live: ${quick ? 'quick' : 'resized (LIVE_*)'} run, nothing recorded`);
      return;
    }
    const yes = (ok) => (ok ? 'met' : '**not met**');
    const lines = [
      `Subscribers in a separate process (graphql-ws), each its own user; events published on the live bus (Redis); ${s.runs} rounds, medians.`,
      '',
      '### Idle subscriptions and side by side with Hive Gateway',
      '',
      `${s.idleSubs} notificationAdded subscriptions held ${s.idleSeconds} s (heartbeats running);`,
      `then ${s.eventSubs} of them get an event per second for ${s.eventSeconds} s. Same subgraphs, one user replica for both gateways.`,
      '',
      '| gateway | RSS KiB / subscription | heap KiB / subscription | idle CPU % | gateway CPU ms / event | event p50 ms | event p99 ms | lost | open time s |',
      '|---|---|---|---|---|---|---|---|---|',
      ...Object.entries(side).map(([kind, x]) => `| ${kind} | ${x.rssKiBPerSub} | ${Number.isFinite(x.heapKiBPerSub) ? x.heapKiBPerSub : 'n/a'} | ${x.idleCpuPercent} | ${x.cpuMsPerEvent ?? 'n/a'} | ${x.eventP50 ?? 'n/a'} | ${x.eventP99 ?? 'n/a'} | ${x.eventsLost ?? 'n/a'} | ${x.openSeconds} |`),
      '',
      `By round, RSS KiB per subscription: ours ${runs.ours.map((r) => r.idle.rssKiBPerSub).join(', ')}; hive ${runs.hive.map((r) => r.idle.rssKiBPerSub).join(', ')}.`,
      `Gateway CPU ms per event: ours ${runs.ours.map((r) => r.events?.cpuMsPerEvent ?? 'n/a').join(', ')}; hive ${runs.hive.map((r) => r.events?.cpuMsPerEvent ?? 'n/a').join(', ')}.`,
      '',
      `Ours / Hive: memory (RSS) per subscription **${ratios.rssPerSub}**, gateway CPU per event **${ratios.cpuPerEvent ?? 'n/a'}**.`,
      `Target ≤ 20 KiB per subscription (ours, RSS): ${yes(side.ours.rssKiBPerSub <= 20)}.`,
      '',
      '### Fan-out',
      '',
      fan
        ? [
            `${s.fanoutSubs} subscribers to notificationAdded over two user-subgraph replicas`,
            `(upstream streams per replica by run: ${fan.spread.map((x) => x.join('/')).join(', ')}), an event per subscriber per second for ${s.fanoutSeconds} s:`,
            `publish → client p50 **${fan.p50} ms**, p99 **${fan.p99} ms** (by run: ${fanout.map((r) => round(r.p99, 1)).join(', ')}), lost **${fan.lost}** of ${fan.published};`,
            `gateway CPU ${fan.cpuMsPerEvent} ms per event. Targets 0 lost (${yes(fan.lost === 0)}), p99 ≤ 100 ms (${yes(fan.p99 <= 100)}).`,
          ].join('\n')
        : `Not measured: ${skipped.find((x) => x.startsWith('fan-out'))}.`,
      '',
      '### First token vs full reply',
      '',
      firstToken
        ? `${firstToken.messages} streamed replies (fake model: 30 chunks over a lognormal mean 3 s), timed from sendMessage(stream: true):\n` +
          `first token p50 **${firstToken.firstTokenP50} ms**, full reply p50 **${firstToken.fullReplyP50} ms**, ratio **${firstToken.ratio}**. Target ≤ 0.2: ${yes(firstToken.ratio <= 0.2)}.`
        : `Not measured: ${skipped.find((x) => x.startsWith('first token'))}.`,
      '',
      '### @defer',
      '',
      deferred
        ? `\`me { displayName ... @defer { latestReport { … } } }\`, the diagnosis subgraph's answers held 500 ms by a proxy, ${deferred.runs} requests:\n` +
          `initial payload p50 **${deferred.initialP50} ms**, whole result p50 **${deferred.wholeP50} ms** (ratio ${deferred.ratio}).`
        : `Not measured: ${skipped.find((x) => x.startsWith('@defer'))}.`,
    ];
    record('live', command, summary, lines.join('\n'));
  } finally {
    await client.rpc('close').catch(() => {});
    await client.stop();
    redis?.disconnect();
    if (replica) await stopChild(replica);
    await subgraphs.stop();
    await llm.close();
    await data.drop();
    rmSync(dir, { recursive: true, force: true });
    if (data.pgliteDir) rmSync(data.pgliteDir, { recursive: true, force: true });
  }
}

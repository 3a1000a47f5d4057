// Shared machinery of `npm run bench`: a stack of real processes in production
// mode, load runs with autocannon, per-process CPU and RSS from /proc, Redis
// command counts from INFO commandstats, and the results table.
import { execFileSync, spawn } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'undici';
import { SignJWT } from 'jose';
import postgres from 'postgres';
import { DEFAULT_TRUSTED_SERVICES } from '@suoke/platform';
import { migrateAll, SERVICE_NODE_OPTIONS, seedAll } from '../scripts/services.mjs';
import { readSupergraphConfig, repoRoot } from '../scripts/supergraph-config.mjs';

export const benchDir = path.join(repoRoot, 'bench');
export const JWT = { issuer: 'suoke-life', audience: 'suoke-app' };

/** A fresh Ed25519 key per signing service and run, as an operator gives each its own (JWT_SIGNING_KEYS). */
function signingKey(service) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const kid = `bench-${service}-${randomBytes(4).toString('hex')}`;
  const publicJwk = { ...createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, publicJwk, privateJwks: JSON.stringify({ keys: [{ ...privateKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' }] }) };
}
const KEYS = { user: signingKey('user'), agent: signingKey('agent'), diagnosis: signingKey('diagnosis') };
/** What every process verifies with: public keys only, pinned inline (the user subgraph's port is chosen later). */
const TRUST_ENV = {
  JWT_JWKS: JSON.stringify({ keys: [KEYS.user.publicJwk] }),
  // The scopes each service is allowed by default (platform/src/auth/trust.ts), with the bench's own keys.
  TRUSTED_SERVICES: JSON.stringify({
    agent: { jwks: { keys: [KEYS.agent.publicJwk] }, scopes: DEFAULT_TRUSTED_SERVICES.agent.scopes },
    diagnosis: { jwks: { keys: [KEYS.diagnosis.publicJwk] }, scopes: DEFAULT_TRUSTED_SERVICES.diagnosis.scopes },
  }),
};
/**
 * Seeded accounts share one created_at, so ids decide their order: the admin, the one account
 * seeded without health, diagnosis or agent data, goes first, so that "the last seeded users"
 * (which scenarios use as users with data in every subgraph) never include it.
 */
const USERS_ORDER = `email = 'admin@suoke.life' desc, created_at, id`;
export const GATEWAY_SECRET = randomBytes(24).toString('base64url');
/** The user subgraph's HMAC key for refresh-token successors, required in production like the keys. */
const REFRESH_TOKEN_SECRET = randomBytes(32).toString('base64url');
/** The diagnosis subgraph's key for its local media store's signed upload URLs, required in production. */
const MEDIA_URL_SECRET = randomBytes(32).toString('base64url');
const CLK_TCK = 100;
/**
 * The Node binary every process a scenario starts runs on (services, gateways, peers): BENCH_NODE when
 * set, to measure a stack on another runtime than the one running the harness; this Node otherwise.
 */
export const benchNode = process.env.BENCH_NODE || process.execPath;
let benchNodeVersion;
/** The version of `benchNode` (asked once), e.g. `v26.0.0`: what the recorded header line names. */
export function runtimeVersion() {
  if (benchNodeVersion === undefined) {
    benchNodeVersion = benchNode === process.execPath ? process.version : execFileSync(benchNode, ['--version'], { encoding: 'utf8' }).trim();
  }
  return benchNodeVersion;
}

export function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * A database for one stack: a fresh PostgreSQL database when DATABASE_URL is
 * set, else a PGlite folder; migrated and seeded with `users` extra accounts,
 * each with `days` of observations (default: the seed's week).
 */
export async function prepareData({ users, days }) {
  const env = { ...process.env, NODE_ENV: 'development', SEED_USERS: String(users), LOG_LEVEL: 'warn' };
  if (days !== undefined) env.SEED_DAYS = String(days);
  else delete env.SEED_DAYS;
  let databaseUrl;
  let pgliteDir;
  if (process.env.DATABASE_URL) {
    const name = `suoke_bench_${randomBytes(4).toString('hex')}`;
    const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    env.DATABASE_URL = databaseUrl;
  } else {
    pgliteDir = mkdtempSync(path.join(os.tmpdir(), 'suoke-bench-'));
    env.PGLITE_DATA_DIR = pgliteDir;
    delete env.DATABASE_URL;
  }
  const seedStart = Date.now();
  await migrateAll(log, env);
  await seedAll(log, env);
  log(`data: ${users} users × ${days ?? 7} days migrated and seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
  return {
    databaseUrl,
    pgliteDir,
    async userIds() {
      if (databaseUrl) {
        const sql = postgres(databaseUrl, { max: 1 });
        const rows = await sql`select id from "user".users order by ${sql.unsafe(USERS_ORDER)}`;
        await sql.end();
        return rows.map((r) => r.id);
      }
      const { openDatabase } = await import('../scripts/services.mjs');
      const database = await openDatabase('user', env);
      const { sql } = await import('drizzle-orm');
      const rows = await database.rows(sql.raw(`select id::text as id from "user".users order by ${USERS_ORDER}`));
      await database.close();
      return rows.map((r) => r.id);
    },
    async drop() {
      if (!databaseUrl) return;
      const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists "${new URL(databaseUrl).pathname.slice(1)}" with (force)`);
      await admin.end();
    },
  };
}

/** Production serves /metrics only with a token (or on METRICS_PORT); scenarios that scrape send these headers. */
export const METRICS_TOKEN = 'bench-only-metrics-token-0123456789abcdef';
export const metricsHeaders = { authorization: `Bearer ${METRICS_TOKEN}` };

/**
 * The five subgraphs as separate processes, production mode, on free ports;
 * `gatewayPort` is where the subgraphs that call back through the gateway find it.
 */
export async function startSubgraphs({ data, env: extra = {}, label, gatewayPort }) {
  const { subgraphs } = readSupergraphConfig();
  const base = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...TRUST_ENV,
    GATEWAY_SECRET,
    REFRESH_TOKEN_SECRET,
    MEDIA_URL_SECRET,
    METRICS_TOKEN,
    // The scenarios compare limits on and off on the production path (refused there without this).
    BENCHMARK_RATE_LIMITS_OFF: 'allow',
    GATEWAY_URL: `http://127.0.0.1:${gatewayPort}/graphql`,
    ...(data.databaseUrl ? { DATABASE_URL: data.databaseUrl } : {}),
    // Gateways started from this environment record field usage into the bench's database (their
    // schema gateway_usage, adding up like replicas). On PGlite they would all open one embedded
    // folder at once, which PGlite cannot share: recording is off there unless a scenario says otherwise.
    ...(data.databaseUrl ? {} : { USAGE_RECORDING: 'off' }),
    ...extra,
  };
  const processes = {};
  const urls = {};
  /** Each subgraph's whole environment, to start another replica of it (port and data folder aside). */
  const envs = {};
  try {
    for (const subgraph of subgraphs) {
      const port = await freePort();
      const env = { ...base, PORT: String(port), ...(KEYS[subgraph.name] ? { JWT_SIGNING_KEYS: KEYS[subgraph.name].privateJwks } : {}) };
      if (data.pgliteDir) env.PGLITE_DATA_DIR = path.join(data.pgliteDir, subgraph.name);
      envs[subgraph.name] = env;
      processes[subgraph.name] = spawnService(`${label}/${subgraph.name}`, `subgraphs/${subgraph.name}/dist/index.js`, env);
      urls[subgraph.name] = `http://127.0.0.1:${port}`;
      await waitReady(urls[subgraph.name]);
    }
  } catch (error) {
    await Promise.all(Object.values(processes).map((child) => stopChild(child)));
    throw error;
  }
  return { base, envs, processes, urls, stop: () => Promise.all(Object.values(processes).map((child) => stopChild(child))) };
}

/** Subgraphs and gateway as separate processes, production mode, on free ports. */
export async function startStack({ data, env: extra = {}, label }) {
  // Chosen first, so that subgraphs calling back through the gateway (the agent's knowledge search) know where it is.
  const gatewayPort = await freePort();
  const { base, processes, urls } = await startSubgraphs({ data, env: extra, label, gatewayPort });
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  try {
    const overrides = Object.fromEntries(Object.entries(urls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`]));
    processes.gateway = spawnService(`${label}/gateway`, 'gateway/dist/index.js', { ...base, ...overrides, GATEWAY_PORT: String(gatewayPort) });
    await waitReady(gatewayUrl);
  } catch (error) {
    // A stack that did not start leaves no processes behind.
    await Promise.all(Object.values(processes).map((child) => stopChild(child)));
    throw error;
  }
  return {
    label,
    gatewayUrl: `${gatewayUrl}/graphql`,
    subgraphUrls: Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, `${url}/graphql`])),
    processes,
    async stop() {
      await Promise.all(Object.values(processes).map((child) => stopChild(child)));
    },
  };
}

/**
 * Starts `script` under the bench's Node (`benchNode`). Our services get the Node options they ship
 * with (SERVICE_NODE_OPTIONS, as the images and `npm start` run them); peers
 * pass `nodeOptions: []` and run on Node's defaults, as their users start them.
 */
export function spawnService(label, script, env, args = [], nodeOptions = SERVICE_NODE_OPTIONS) {
  const child = spawn(benchNode, [...nodeOptions, path.join(repoRoot, script), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (chunk) => process.stderr.write(`[${label}] ${chunk}`));
  return child;
}

export async function waitReady(base, timeoutMs = 30_000, route = '/health/ready') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}${route}`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${base} not ready within ${timeoutMs / 1000} s`);
}

export function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/** An OTLP/HTTP endpoint that accepts and discards, counting what it received. */
export async function otlpSink() {
  const port = await freePort();
  const received = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (chunk) => {
      received.bytes += chunk.length;
    });
    req.on('end', () => {
      received.requests += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** `list` rotated left by `round`: interleaved runs take turns in a different order each round. */
export function rotated(list, round) {
  return list.map((_, i) => list[(i + round) % list.length]);
}

/** The process and its descendants (a clustered gateway's workers), from /proc. */
function processTree(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

function ownCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** utime + stime of a process and its live descendants, in seconds. */
export function cpuSeconds(pid) {
  return processTree(pid).reduce((sum, p) => sum + ownCpuSeconds(p), 0);
}

/** Peak resident set size (VmHWM) in MiB: summed over the process and its descendants (an upper bound for several). */
export function peakRssMiB(pid) {
  let kB = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (match) kB += Number(match[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kB > 0 ? kB / 1024 : NaN;
}

/** Access tokens as the user subgraph signs them (this run's user key), for `roles` with `scope` (a USER's by default). */
export async function signTokens(userIds, { roles = ['USER'], scope = 'health:read health:write profile:read profile:write' } = {}) {
  const { privateKey, kid } = KEYS.user;
  return Promise.all(
    userIds.map((id) =>
      new SignJWT({ roles, scope })
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setSubject(id)
        .setIssuer(JWT.issuer)
        .setAudience(JWT.audience)
        .setExpirationTime('2h')
        .sign(privateKey),
    ),
  );
}

/** Percentile (nearest rank) of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function latencyStats(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const sum = sorted.reduce((s, x) => s + x, 0);
  return {
    average: round(sum / sorted.length, 3),
    p50: round(percentile(sorted, 50), 3),
    p95: round(percentile(sorted, 95), 3),
    p99: round(percentile(sorted, 99), 3),
    max: round(sorted[sorted.length - 1], 3),
  };
}

/**
 * One autocannon run against `url`, POSTing `body`, with `headersFor(i)` giving
 * each request its headers (tokens rotated over many users): closed loop
 * (`connections`), at a fixed overall rate (`rate` requests/s), or for a fixed
 * `amount` of requests. Latency figures are exact, from every response's own
 * time (autocannon's summary has whole-millisecond buckets and no p95); CPU is
 * utime + stime from /proc per process (workers included) plus this process's
 * own (`bench`: autocannon shares the machine); peak RSS per process.
 * `errors` counts autocannon's connection errors, timeouts included.
 */
export async function load({ url, body, headersFor, connections = 50, duration, amount, rate, timeout = 10, processes = {}, onResponse }) {
  const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, cpuSeconds(child.pid)]));
  const benchBefore = process.cpuUsage();
  const latencies = [];
  let i = 0;
  const instance = autocannon({
    url,
    connections,
    timeout,
    ...(amount ? { amount } : { duration }),
    ...(rate ? { overallRate: rate } : {}),
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => ({ ...request, headers: { 'content-type': 'application/json', ...headersFor(i++) }, body }),
        // (status, body): e.g. to count GraphQL errors inside 200 responses.
        ...(onResponse ? { onResponse } : {}),
      },
    ],
  });
  instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  const result = await instance;
  const bench = process.cpuUsage(benchBefore);
  const cpu = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, cpuSeconds(child.pid) - cpuBefore[name]]));
  const requests = result.requests.total;
  return {
    requests,
    rps: requests / result.duration,
    ...latencyStats(latencies),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    cpu,
    benchCpu: (bench.user + bench.system) / 1e6,
    peakRss: Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, peakRssMiB(child.pid)])),
    rpsPerGatewayCpu: cpu.gateway ? requests / cpu.gateway : undefined,
  };
}

/**
 * An open-loop run at a steady `rate`: request i is due at start + i/rate and
 * goes out on connection i mod `connections` (each a keep-alive socket of its
 * own), whether or not earlier requests have been answered. Its latency counts
 * from when it was due, so time spent waiting for a busy connection or for this
 * process is charged to the system under test, never hidden (no coordinated
 * omission). Written here because autocannon's `overallRate` is a per-second
 * quota per connection: every connection sends its share at the top of each
 * second (mcollina/autocannon#174), so 1500 req/s over 1000 connections arrive
 * as one burst a second. Same result shape as `load`; `errors` counts failed
 * requests, `timeouts` those of them that ran out of `timeout` seconds.
 * `bodyFor(i)` instead of `body` mixes operations; `onResult({ due, latency, status })`
 * sees every answered request (`due` in `performance.now()` time), e.g. to split a run in windows.
 */
export async function pacedLoad({ url, body, bodyFor, headersFor, connections = 50, duration, rate, timeout = 10, processes = {}, onResult }) {
  const target = new URL(url);
  const clients = Array.from({ length: connections }, () => new Client(target.origin, { pipelining: 1, keepAliveTimeout: 120_000, headersTimeout: timeout * 1000, bodyTimeout: timeout * 1000 }));
  const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, cpuSeconds(child.pid)]));
  const benchBefore = process.cpuUsage();
  const latencies = [];
  let errors = 0;
  let timeouts = 0;
  let non2xx = 0;
  const total = Math.round(rate * duration);
  const pending = new Set();
  const started = performance.now();
  const send = (i) => {
    const due = started + (i * 1000) / rate;
    const request = clients[i % connections]
      .request({ path: target.pathname + target.search, method: 'POST', headers: { 'content-type': 'application/json', ...headersFor(i) }, body: bodyFor ? bodyFor(i) : body })
      .then(async (response) => {
        await response.body.dump();
        const latency = performance.now() - due;
        latencies.push(latency);
        onResult?.({ due, latency, status: response.statusCode });
        if (response.statusCode < 200 || response.statusCode > 299) non2xx += 1;
      })
      .catch((error) => {
        errors += 1;
        if (/timeout/i.test(error?.code ?? error?.name ?? '')) timeouts += 1;
      })
      .finally(() => pending.delete(request));
    pending.add(request);
  };
  let sent = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
      while (sent < due) send(sent++);
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  const seconds = (performance.now() - started) / 1000;
  const bench = process.cpuUsage(benchBefore);
  const cpu = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, cpuSeconds(child.pid) - cpuBefore[name]]));
  await Promise.all(clients.map((client) => client.close()));
  return {
    requests: latencies.length,
    rps: latencies.length / seconds,
    ...latencyStats(latencies),
    errors,
    timeouts,
    non2xx,
    cpu,
    benchCpu: (bench.user + bench.system) / 1e6,
    peakRss: Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, peakRssMiB(child.pid)])),
    rpsPerGatewayCpu: cpu.gateway ? latencies.length / cpu.gateway : undefined,
  };
}

/** Total commands executed by Redis so far (INFO commandstats), for per-operation deltas. */
export async function redisCommands(redis) {
  const info = await redis.info('commandstats');
  const byCommand = {};
  let total = 0;
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (match) {
      byCommand[match[1]] = Number(match[2]);
      total += Number(match[2]);
    }
  }
  return { total, byCommand };
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function round(value, digits = 2) {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : value;
}

function gitCommit() {
  try {
    // git itself first: in a worktree .git is a file naming the real folder.
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().slice(0, 12);
  } catch {
    // no git on PATH: read the folder directly
  }
  try {
    const head = readFileSync(path.join(repoRoot, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref:')) return head.slice(0, 12);
    const ref = path.join(repoRoot, '.git', head.slice(5));
    return existsSync(ref) ? readFileSync(ref, 'utf8').trim().slice(0, 12) : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machine() {
  // The runtime the stacks ran on; the harness's own when it differs (it runs the load generator).
  const harness = runtimeVersion() === process.version ? '' : ` (harness on Node ${process.version})`;
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${runtimeVersion()}${harness}`;
}

/**
 * Writes bench/results/<scenario>-node<major>.json and puts the scenario's section for the runtime the
 * stacks ran on (`runtimeVersion()`, BENCH_NODE or this Node) in bench/RESULTS.md, headed by the command,
 * commit, machine and date. Each runtime keeps a section of its own, so figures of two Node lines stand
 * side by side: the section of the same scenario and major is replaced (sections from before runtimes were
 * tagged count as the runtime their header names), another runtime's is kept and the new one goes after it.
 */
export function record(scenario, command, summary, markdown) {
  // Smoke runs (--quick, CI) check the harness only: they never touch RESULTS.md or results/*.json.
  if (summary?.quick || /(^|\s)--quick(\s|$)/.test(command)) {
    log(`${scenario}: quick run, nothing recorded`);
    return;
  }
  const major = /^v(\d+)\./.exec(runtimeVersion())?.[1] ?? 'unknown';
  mkdirSync(path.join(benchDir, 'results'), { recursive: true });
  const meta = { scenario, command, commit: gitCommit(), machine: machine(), date: new Date().toISOString(), database: process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite' };
  writeFileSync(path.join(benchDir, 'results', `${scenario}-node${major}.json`), `${JSON.stringify({ ...meta, ...summary }, null, 2)}\n`);
  const file = path.join(benchDir, 'RESULTS.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nEvery table is produced by the command above it; medians of interleaved runs, never single runs.\n';
  const tag = `${scenario} node${major}`;
  const section = `<!-- scenario:${tag} -->\n## ${scenario} — Node ${major}\n\n\`${command}\` — commit ${meta.commit}, ${meta.machine}, ${meta.database}, ${meta.date.slice(0, 10)}\n\n${markdown.trim()}\n<!-- /scenario:${tag} -->`;
  writeFileSync(file, placeSection(existing, scenario, major, section));
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** RESULTS.md with `section` in place of the scenario's section for `major`, or after the scenario's other sections. */
export function placeSection(existing, scenario, major, section) {
  const sections = [...existing.matchAll(new RegExp(`<!-- scenario:${escapeRegExp(scenario)}(?: node(\\d+))? -->[\\s\\S]*?<!-- /scenario:${escapeRegExp(scenario)}(?: node\\d+)? -->`, 'g'))];
  const runtimeOf = (match) => match[1] ?? /Node v(\d+)\./.exec(match[0])?.[1];
  const same = sections.find((match) => runtimeOf(match) === major);
  if (same) return existing.slice(0, same.index) + section + existing.slice(same.index + same[0].length);
  const last = sections.at(-1);
  if (last) {
    const at = last.index + last[0].length;
    return `${existing.slice(0, at)}\n\n${section}${existing.slice(at)}`;
  }
  return `${existing.trimEnd()}\n\n${section}\n`;
}

/** Current resident set size (VmRSS) in MiB of a process and its descendants. */
export function rssMiB(pid) {
  let kB = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (match) kB += Number(match[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kB > 0 ? kB / 1024 : NaN;
}

/** TCP connections in ESTABLISHED state whose local port is `port` (a server's accepted connections), from /proc/net. */
export function establishedOn(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 3 && fields[1].endsWith(`:${hex}`) && fields[3] === '01') count += 1;
    }
  }
  return count;
}

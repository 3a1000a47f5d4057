// Issue 22's bench: what field usage recording costs on the request path. The app's home query
// (as gateways.mjs sends it), tokens rotated over many users, through two gateway processes of
// the same build against the same five subgraphs (started once, production mode):
//   usage-on    USAGE_RECORDING=on at the default USAGE_SAMPLE_RATE (1: every operation), its
//               store on the bench's database (PostgreSQL with DATABASE_URL, else embedded PGlite),
//               flushed every USAGE_FLUSH_MS (default 10 s) during the runs
//   usage-off   USAGE_RECORDING=off
// Interleaved rounds, each gateway loaded alone (50 connections), order rotated each round.
// The figure is requests per gateway CPU-second (utime + stime of the gateway process from
// /proc: the flushes' SQL client work counts, PostgreSQL's own CPU does not), medians over rounds,
// the ratio on/off paired per round. Target ≥ 0.97×. After the runs, the usage store must hold
// the home query's coordinates with the count of requests usage-on answered (within a flush).
//
// BENCH_DURATION, BENCH_ROUNDS, BENCH_WARMUP (defaults 10, 6, 10) shorten a sanity run, which records nothing.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort, load, log, median, prepareData, record, rotated, round, signTokens, spawnService, startSubgraphs, stopChild } from '../lib.mjs';
import { SERVICE_NODE_OPTIONS } from '../../scripts/services.mjs';
import { repoRoot } from '../../scripts/supergraph-config.mjs';
import { HOME } from './gateways/stack.mjs';

const CLIENT = { 'apollographql-client-name': 'suoke-app', 'apollographql-client-version': '2.3.0' };

/**
 * The recording hooks alone, in this process, on the real API schema and the home query: what one
 * request adds on the gateway's CPU (plugin hooks, the plan hook, and the flush's expansion of the
 * tallies amortised; the SQL write is not included, it runs once per USAGE_FLUSH_MS whatever the load).
 */
async function hookCost(usageModule) {
  const { Supergraph } = await import('@apollo/federation-internals');
  const { parse } = await import('graphql');
  const schema = Supergraph.build(readFileSync(path.join(repoRoot, 'schema/supergraph.graphql'), 'utf8'), { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
  const silent = { warn() {}, info() {}, error() {}, debug() {} };
  const recording = usageModule.createUsageRecording({ config: usageModule.loadUsageConfig({}), log: silent });
  const document = parse(HOME);
  const queryHash = createHash('sha256').update(HOME).digest('hex');
  const headers = new Map(Object.entries(CLIENT));
  const plan = { kind: 'QueryPlan' };
  const pairs = usageModule.operationUsage(document, 'Home', schema).coordinates.filter((c) => c.includes('.')).map((c) => [c, 'user']);
  const one = async () => {
    const contextValue = {};
    const hooks = await recording.plugin.requestDidStart({ contextValue });
    await hooks.didResolveOperation({ schema, document, operationName: 'Home', queryHash, request: { http: { headers }, variables: {} }, contextValue });
    recording.recorder.recordPlan(plan, pairs);
  };
  for (let i = 0; i < 20_000; i += 1) await one();
  recording.recorder.drain();
  const n = 200_000;
  const before = process.cpuUsage();
  for (let i = 0; i < n; i += 1) {
    await one();
    // A flush's drain every 10 s at ~1000 req/s: its expansion is part of the cost.
    if (i % 10_000 === 9_999) recording.recorder.drain();
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

async function waitGraphQL(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: gateway exited with ${child.exitCode}`);
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

export async function usage({ quick, command }) {
  const envNumber = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
  const duration = quick ? 2 : envNumber('BENCH_DURATION', 10);
  const rounds = quick ? 1 : envNumber('BENCH_ROUNDS', 6);
  const warmup = quick ? 1 : envNumber('BENCH_WARMUP', 10);
  const users = quick ? 50 : 1000;
  const connections = 50;
  const data = await prepareData({ users });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'suoke-bench-usage-'));
  let subgraphs;
  let running = [];
  try {
    const tokens = await signTokens(await data.userIds());
    const headersFor = (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}`, ...CLIENT });
    const body = JSON.stringify({ query: HOME });
    subgraphs = await startSubgraphs({ data, label: 'usage', gatewayPort: await freePort(), env: { RATE_LIMITS: 'off', OTEL_SDK_DISABLED: 'true', MEDIA_URL_SECRET: 'bench-media-url-secret-0123456789abcdef' } });
    const routing = Object.fromEntries(Object.entries(subgraphs.urls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`]));
    // The store of usage-on: the bench's PostgreSQL (its own schema), else its own PGlite folder.
    const store = data.databaseUrl ? { USAGE_DATABASE_URL: data.databaseUrl } : { PGLITE_DATA_DIR: dir };
    const kinds = [
      { label: 'usage-on', env: { USAGE_RECORDING: 'on', ...store } },
      { label: 'usage-off', env: { USAGE_RECORDING: 'off' } },
    ];
    for (const kind of kinds) {
      const port = await freePort();
      const env = { ...subgraphs.base, ...routing, RATE_LIMITS: 'off', OTEL_SDK_DISABLED: 'true', GATEWAY_PORT: String(port), ...kind.env };
      const child = spawnService(`usage/${kind.label}`, 'gateway/dist/index.js', env, [], SERVICE_NODE_OPTIONS);
      const url = `http://127.0.0.1:${port}/graphql`;
      running.push({ label: kind.label, url, child, env });
      await waitGraphQL(url, child);
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headersFor(tokens.length - 1) }, body });
      const json = await response.json();
      if (json.errors || !json.data?.me?.displayName) throw new Error(`${kind.label}: home query failed: ${JSON.stringify(json).slice(0, 300)}`);
    }
    for (const g of running) await load({ url: g.url, body, headersFor, connections, duration: warmup });
    const runs = Object.fromEntries(running.map((g) => [g.label, []]));
    for (let r = 0; r < rounds; r += 1) {
      for (const g of rotated(running, r)) {
        const result = await load({ url: g.url, body, headersFor, connections, duration, processes: { gateway: g.child } });
        runs[g.label].push({ ...result, round: r });
        log(`r${r + 1} ${g.label}: ${round(result.rps, 0)} req/s, ${round(result.rpsPerGatewayCpu, 0)} req/CPU-s, p95 ${result.p95} ms, errors ${result.errors}, non-2xx ${result.non2xx}`);
      }
    }
    // What usage-on recorded: stop it (SIGTERM flushes), then read its store as `npm run usage` would.
    const on = running.find((g) => g.label === 'usage-on');
    await stopChild(on.child);
    const { exportUsage } = await import(pathToFileURL(path.join(repoRoot, 'gateway/dist/usage/index.js')).href);
    const exported = await exportUsage({ days: 1, env: { ...on.env, DATABASE_URL: undefined } });
    const recorded = (exported.coordinates['User.healthSummary'] ?? []).filter((e) => e.client === CLIENT['apollographql-client-name']).reduce((sum, e) => sum + e.count, 0);
    log(`usage-on recorded User.healthSummary ${recorded} times for suoke-app (its store: ${data.databaseUrl ? 'PostgreSQL' : 'PGlite'})`);
    if (recorded === 0) throw new Error('usage-on recorded nothing: the bench would measure nothing');

    const usPerRequest = await hookCost(await import(pathToFileURL(path.join(repoRoot, 'gateway/dist/usage/index.js')).href));
    log(`recording hooks: ${round(usPerRequest, 2)} µs of CPU per request (in process, ${'home query'})`);
    const paired = runs['usage-on'].map((x) => x.rpsPerGatewayCpu / runs['usage-off'].find((y) => y.round === x.round).rpsPerGatewayCpu);
    const summary = Object.fromEntries(
      Object.entries(runs).map(([label, list]) => [
        label,
        {
          rps: round(median(list.map((x) => x.rps)), 1),
          rpsPerGatewayCpu: round(median(list.map((x) => x.rpsPerGatewayCpu)), 1),
          p50: round(median(list.map((x) => x.p50)), 1),
          p95: round(median(list.map((x) => x.p95)), 1),
          errors: list.reduce((s, x) => s + x.errors + x.non2xx, 0),
          runs: list.map((x) => round(x.rpsPerGatewayCpu, 1)),
        },
      ]),
    );
    const ratio = round(median(paired), 3);
    // What the hooks' measured cost makes of usage-off's figure: requests per CPU-second with them added.
    const offPerCpu = summary['usage-off'].rpsPerGatewayCpu;
    const computed = round(1 / (1 + (usPerRequest * offPerCpu) / 1e6), 4);
    const failures = Object.entries(summary).filter(([, x]) => x.errors > 0).map(([label, x]) => `${label}: ${x.errors} errors`);
    const rows = Object.entries(summary)
      .map(([label, x]) => `| ${label} | ${x.rps} | ${x.rpsPerGatewayCpu} | ${x.p50} | ${x.p95} | ${x.runs.join(', ')} | ${x.errors} |`)
      .join('\n');
    const markdown = `
The app's home query through two gateways of the same build (**usage-on**: \`USAGE_RECORDING=on\`; **usage-off**), tokens rotated over ${tokens.length} users,
${rounds} interleaved rounds × ${duration} s, 50 connections, after ${warmup} s of warm-up each. Afterwards usage-on's store held
\`User.healthSummary\` × ${recorded} for suoke-app.

| gateway | req/s | req per gateway CPU-s | p50 ms | p95 ms | req per CPU-s per round | errors |
|---|---|---|---|---|---|---|
${rows}

**usage-on ÷ usage-off, req per gateway CPU-s** (median of the per-round ratios): **${ratio}** — target ≥ 0.97: ${ratio >= 0.97 ? 'met' : '**not met**'}.
Per-round ratios: ${paired.map((x) => round(x, 3)).join(', ')}.

The recording hooks alone, run 200 000 times in the bench process: **${round(usPerRequest, 2)} µs of CPU per request**;
against usage-off's ${offPerCpu} requests per gateway CPU-second (${round(1e6 / offPerCpu, 0)} µs per request), a ratio of **${computed}**.
`;
    const shortened = ['BENCH_DURATION', 'BENCH_ROUNDS', 'BENCH_WARMUP'].some((name) => process.env[name]);
    if (quick || shortened) log(`${quick ? 'quick' : 'shortened'} run, not figures:\n${markdown}`);
    else record('usage', command, { summary, ratio, paired: paired.map((x) => round(x, 3)), usPerRequest: round(usPerRequest, 3), computed, recorded, users: tokens.length, rounds, duration, warmup, quick }, markdown);
    log(`usage-on ÷ usage-off req per gateway CPU-s: ${ratio} (target ≥ 0.97: ${ratio >= 0.97 ? 'met' : 'NOT MET'})`);
    if (failures.length) throw new Error(`requests failed under load: ${failures.join('; ')}`);
  } finally {
    await Promise.all(running.map((g) => stopChild(g.child)));
    if (subgraphs) await subgraphs.stop();
    await data.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

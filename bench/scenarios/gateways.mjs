// Issue 9's "Side by side" and scenario S2: the app's home query (user, health,
// diagnosis, knowledge and agent) through four gateways in turn, against the same
// five subgraphs (started once) and the same supergraph file:
//   ours-on     our gateway, governance on: JWT, rate limits on Redis, graphql-armor and
//               cost limits, tracing at 10 % parent-based sampling exported over OTLP to a
//               discarding sink
//   ours-off    our gateway, rate limits and tracing off (JWT stays: the subgraphs need the
//               verified identity; the security plugins have no off switch, they run in both)
//   apollo      stock Apollo Gateway, `new ApolloGateway({ supergraphSdl })` (bench/peers/apollo-stock.mjs)
//   hive        Hive Gateway's CLI, `hive-gateway supergraph` (bench/peers/hive-gateway.config.mjs)
// One gateway process each. Two variants:
//   rotated     tokens rotated over every seeded user, so responses differ as real traffic's do
//   identical   one request repeated (same user, same body), where in-flight deduplication
//               of identical subgraph fetches pays
// Each variant starts fresh gateway processes (peak RSS is per variant), checks that all four
// return the same JSON for one user, warms each up, then runs rounds in which every gateway
// is loaded alone (50 connections), the order rotated each round. CPU is utime + stime of the
// gateway process only, from /proc; peak RSS is its VmHWM.
//
// BENCH_DURATION, BENCH_ROUNDS, BENCH_WARMUP (seconds per run, rounds, seconds of warm-up per
// gateway; defaults 10, 4, 10) shorten a run for a sanity check, e.g. BENCH_DURATION=3
// BENCH_ROUNDS=3 BENCH_WARMUP=2: such a run prints its tables and records nothing.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GATEWAY_SECRET_HEADER } from '@suoke/platform';
import {
  GATEWAY_SECRET,
  freePort,
  load,
  log,
  median,
  otlpSink,
  peakRssMiB,
  prepareData,
  record,
  rotated,
  round,
  signTokens,
  spawnService,
  startSubgraphs,
  stopChild,
} from '../lib.mjs';
import { SERVICE_NODE_OPTIONS } from '../../scripts/services.mjs';
import { repoRoot } from '../../scripts/supergraph-config.mjs';

/** The app's home screen over four subgraphs: what the gateways scenarios (and usage) load. */
export const HOME = `query Home {
  me {
    id
    displayName
    healthSummary(days: 7) { type count average latest }
    consultations(first: 3) { edges { node { id status startedAt } } }
    latestReport { id confidence primaryConstitution { code name summary } }
    conversations(first: 3) { edges { node { id agent { id name } updatedAt } } }
  }
}`;
const OTEL_INHERITED = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_TRACES_EXPORTER', 'OTEL_SDK_DISABLED', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG'];
const HIVE_BIN = 'node_modules/@graphql-hive/gateway/dist/bin.js';

/** The supergraph with each join__graph URL pointing at the bench's subgraph. */
export function rewriteSupergraph(urls, dir) {
  const source = readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8');
  const seen = new Set();
  const rewritten = source.replace(/@join__graph\(name: "([^"]+)", url: "[^"]*"\)/g, (_, name) => {
    if (!urls[name]) throw new Error(`supergraph names subgraph ${name}, which the bench did not start`);
    seen.add(name);
    return `@join__graph(name: "${name}", url: "${urls[name]}/graphql")`;
  });
  const missing = Object.keys(urls).filter((name) => !seen.has(name));
  if (missing.length) throw new Error(`supergraph has no join__graph for ${missing.join(', ')}`);
  const file = path.join(dir, 'supergraph.graphql');
  writeFileSync(file, rewritten);
  return file;
}

/** POSTs `{ __typename }` until the gateway answers it. */
export async function waitGraphQL(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: gateway exited with ${child.exitCode} before answering`);
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
      if (response.ok && (await response.json()).data?.__typename) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer { __typename } within ${timeoutMs / 1000} s`);
}

/** The four gateways' launch descriptions. */
function gatewayKinds({ base, supergraph, sink, identical }) {
  const common = { ...base, SUPERGRAPH_PATH: supergraph, GATEWAY_SECRET_HEADER };
  for (const name of OTEL_INHERITED) delete common[name];
  return [
    {
      label: 'ours-on',
      script: 'gateway/dist/index.js',
      // One user at thousands of requests per second is over any per-user limit (300/min on `me`):
      // in the identical variant ours runs with everything on but rate limits, else it would answer 429s.
      env: {
        ...common,
        RATE_LIMITS: identical ? 'off' : 'on',
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.1',
      },
      portVar: 'GATEWAY_PORT',
    },
    { label: 'ours-off', script: 'gateway/dist/index.js', env: { ...common, RATE_LIMITS: 'off', OTEL_SDK_DISABLED: 'true' }, portVar: 'GATEWAY_PORT' },
    { label: 'apollo', script: 'bench/peers/apollo-stock.mjs', env: common, portVar: 'PORT', nodeOptions: [] },
    {
      label: 'hive',
      script: HIVE_BIN,
      env: common,
      nodeOptions: [],
      args: (port) => ['supergraph', supergraph, '--config-path', path.join(repoRoot, 'bench/peers/hive-gateway.config.mjs'), '--fork', '1', '--host', '127.0.0.1', '--port', String(port)],
    },
  ];
}

async function startGateways(kinds) {
  const started = [];
  try {
    for (const kind of kinds) {
      const port = await freePort();
      const env = { ...kind.env, ...(kind.portVar ? { [kind.portVar]: String(port) } : {}) };
      const child = spawnService(`gateways/${kind.label}`, kind.script, env, kind.args ? kind.args(port) : [], kind.nodeOptions);
      const url = `http://127.0.0.1:${port}/graphql`;
      started.push({ label: kind.label, url, child });
      await waitGraphQL(url, child);
    }
  } catch (error) {
    await Promise.all(started.map((g) => stopChild(g.child)));
    throw error;
  }
  return started;
}

/** Every gateway returns the same JSON for `token`, touching all five subgraphs; throws otherwise. */
async function verifySameData(gateways, body, token) {
  const answers = [];
  for (const gateway of gateways) {
    const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
    const text = await response.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${gateway.label}: home query answered ${response.status} with non-JSON: ${text.slice(0, 300)}`);
    }
    if (!response.ok || json.errors || !json.data?.me) throw new Error(`${gateway.label}: home query failed (${response.status}): ${text.slice(0, 500)}`);
    const me = json.data.me;
    const touched = {
      user: Boolean(me.displayName),
      health: Array.isArray(me.healthSummary) && me.healthSummary.length > 0,
      diagnosis: (me.consultations?.edges.length ?? 0) > 0 && Boolean(me.latestReport),
      knowledge: Boolean(me.latestReport?.primaryConstitution?.name),
      agent: (me.conversations?.edges.length ?? 0) > 0 && Boolean(me.conversations.edges[0].node.agent?.name),
    };
    const untouched = Object.entries(touched).filter(([, ok]) => !ok).map(([name]) => name);
    if (untouched.length) throw new Error(`${gateway.label}: home query left ${untouched.join(', ')} empty: ${text.slice(0, 500)}`);
    answers.push({ label: gateway.label, text: JSON.stringify(json.data) });
  }
  const reference = answers[0];
  for (const answer of answers.slice(1)) {
    if (answer.text !== reference.text) {
      let at = 0;
      while (at < reference.text.length && reference.text[at] === answer.text[at]) at += 1;
      throw new Error(
        `${answer.label} and ${reference.label} return different data for the same user, from character ${at}:\n  ${reference.label}: …${reference.text.slice(Math.max(0, at - 80), at + 160)}\n  ${answer.label}: …${answer.text.slice(Math.max(0, at - 80), at + 160)}`,
      );
    }
  }
  return reference.text;
}

function summarize(runs, rss) {
  const labels = Object.keys(runs);
  const paired = (label, other, pick) =>
    runs[label].map((x) => {
      const o = runs[other].find((y) => y.round === x.round);
      return pick(x) / pick(o);
    }).filter(Number.isFinite);
  return Object.fromEntries(
    labels.map((label) => {
      const list = runs[label];
      return [
        label,
        {
          rps: round(median(list.map((x) => x.rps)), 1),
          rpsPerGatewayCpu: round(median(list.map((x) => x.rpsPerGatewayCpu)), 1),
          p50: round(median(list.map((x) => x.p50)), 1),
          p95: round(median(list.map((x) => x.p95)), 1),
          p99: round(median(list.map((x) => x.p99)), 1),
          errors: list.reduce((s, x) => s + x.errors, 0),
          non2xx: list.reduce((s, x) => s + x.non2xx, 0),
          graphqlErrors: list.reduce((s, x) => s + x.graphqlErrors, 0),
          peakRssMiB: round(rss[label], 1),
          // Each run over the peer's run of the same round, then the median of those.
          vsHive: {
            rps: round(median(paired(label, 'hive', (x) => x.rps)), 3),
            rpsPerGatewayCpu: round(median(paired(label, 'hive', (x) => x.rpsPerGatewayCpu)), 3),
            p95: round(median(paired(label, 'hive', (x) => x.p95)), 3),
            peakRss: round(rss[label] / rss.hive, 3),
          },
          vsApollo: {
            rps: round(median(paired(label, 'apollo', (x) => x.rps)), 3),
            rpsPerGatewayCpu: round(median(paired(label, 'apollo', (x) => x.rpsPerGatewayCpu)), 3),
            p95: round(median(paired(label, 'apollo', (x) => x.p95)), 3),
            peakRss: round(rss[label] / rss.apollo, 3),
          },
          runs: list.map((x) => ({ round: x.round, rps: round(x.rps, 1), rpsPerGatewayCpu: round(x.rpsPerGatewayCpu, 1), p95: x.p95 })),
        },
      ];
    }),
  );
}

function table(summary) {
  const rows = Object.entries(summary).map(
    ([label, x]) =>
      `| ${label} | ${x.rps} | ${x.rpsPerGatewayCpu} | ${x.vsHive.rpsPerGatewayCpu} | ${x.vsApollo.rpsPerGatewayCpu} | ${x.p50} | ${x.p95} | ${x.p99} | ${x.vsHive.p95} | ${x.peakRssMiB} | ${x.vsHive.peakRss} | ${x.errors} / ${x.non2xx} / ${x.graphqlErrors} |`,
  );
  return `| gateway | req/s | req per gateway CPU-s | ÷ Hive | ÷ stock Apollo | p50 ms | p95 ms | p99 ms | p95 ÷ Hive | peak RSS MiB | RSS ÷ Hive | errors / non-2xx / GraphQL errors |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}`;
}

export async function gateways({ quick, command }) {
  const envNumber = (name, fallback) => (process.env[name] ? Number(process.env[name]) : fallback);
  const duration = quick ? 2 : envNumber('BENCH_DURATION', 10);
  const rounds = quick ? 1 : envNumber('BENCH_ROUNDS', 4);
  const warmup = quick ? 0 : envNumber('BENCH_WARMUP', 10);
  const users = quick ? 50 : 1000;
  const connections = 50;
  const started = Date.now();
  const data = await prepareData({ users });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'suoke-bench-gateways-'));
  const sink = await otlpSink();
  let subgraphs;
  let running = [];
  try {
    const userIds = await data.userIds();
    const tokens = await signTokens(userIds);
    // The subgraphs run once for all four gateways. Rate limits off in them: the peers send no
    // per-field budget, so a subgraph with limits on would consume the counters itself (a Redis
    // round trip in the peers' latency, and 429s in the identical variant); ours enforces at the gateway.
    const gatewayPort = await freePort();
    subgraphs = await startSubgraphs({ data, label: 'gateways', gatewayPort, env: { RATE_LIMITS: 'off', OTEL_SDK_DISABLED: 'true' } });
    const supergraph = rewriteSupergraph(subgraphs.urls, dir);
    const body = JSON.stringify({ query: HOME });
    const variants = [
      { name: 'rotated', headersFor: (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` }) },
      // The last seeded user: a signed-in user with data in every subgraph.
      { name: 'identical', headersFor: () => ({ authorization: `Bearer ${tokens[tokens.length - 1]}` }) },
    ];
    const results = {};
    for (const variant of variants) {
      const kinds = gatewayKinds({ base: subgraphs.base, supergraph, sink, identical: variant.name === 'identical' });
      running = await startGateways(kinds);
      // Before anything is loaded: all four return the same data, for two users whose data differ.
      const first = await verifySameData(running, body, tokens[tokens.length - 1]);
      const second = await verifySameData(running, body, tokens[tokens.length - 2]);
      if (first === second) throw new Error('two users got the same home data: the rotated variant would not differ per user');
      log(`${variant.name}: all four gateways return the same home data (${first.length} bytes of JSON)`);
      if (warmup > 0) for (const g of running) await load({ url: g.url, body, headersFor: variant.headersFor, connections, duration: warmup });
      const runs = Object.fromEntries(running.map((g) => [g.label, []]));
      for (let r = 0; r < rounds; r += 1) {
        for (const g of rotated(running, r)) {
          let graphqlErrors = 0;
          const result = await load({
            url: g.url,
            body,
            headersFor: variant.headersFor,
            connections,
            duration,
            processes: { gateway: g.child },
            onResponse: (status, responseBody) => {
              if (status === 200 && responseBody.includes('"errors"')) graphqlErrors += 1;
            },
          });
          runs[g.label].push({ ...result, graphqlErrors, round: r });
          log(
            `${variant.name} r${r + 1} ${g.label}: ${round(result.rps, 0)} req/s, ${round(result.rpsPerGatewayCpu, 0)} req/CPU-s, p95 ${result.p95} ms, errors ${result.errors}, non-2xx ${result.non2xx}, GraphQL errors ${graphqlErrors}`,
          );
        }
      }
      const rss = Object.fromEntries(running.map((g) => [g.label, peakRssMiB(g.child.pid)]));
      await Promise.all(running.map((g) => stopChild(g.child)));
      running = [];
      results[variant.name] = summarize(runs, rss);
    }

    const failures = Object.entries(results).flatMap(([variant, s]) =>
      Object.entries(s)
        .filter(([, x]) => x.errors + x.non2xx + x.graphqlErrors > 0)
        .map(([label, x]) => `${variant}/${label}: ${x.errors} errors, ${x.non2xx} non-2xx, ${x.graphqlErrors} GraphQL errors`),
    );
    const on = results.rotated['ours-on'];
    const same = results.identical['ours-on'];
    const targets = [
      { target: 'req per gateway CPU-s ≥ 1.5× Hive (rotated)', value: on.vsHive.rpsPerGatewayCpu, met: on.vsHive.rpsPerGatewayCpu >= 1.5 },
      { target: 'req per gateway CPU-s ≥ 1.2× stock Apollo (rotated)', value: on.vsApollo.rpsPerGatewayCpu, met: on.vsApollo.rpsPerGatewayCpu >= 1.2 },
      { target: 'p95 ≤ 0.8× Hive (rotated)', value: on.vsHive.p95, met: on.vsHive.p95 <= 0.8 },
      { target: 'peak RSS ≤ 0.5× Hive (rotated)', value: on.vsHive.peakRss, met: on.vsHive.peakRss <= 0.5 },
      { target: 'identical request: req per gateway CPU-s not behind Hive', value: same.vsHive.rpsPerGatewayCpu, met: same.vsHive.rpsPerGatewayCpu >= 1 },
      { target: 'identical request: req/s not behind Hive', value: same.vsHive.rps, met: same.vsHive.rps >= 1 },
    ];
    const markdown = `
The app's home query through four gateways in turn, against the same five subgraphs and supergraph
(${data.databaseUrl ? 'PostgreSQL' : 'PGlite'}, ${process.env.REDIS_URL ? 'Redis' : 'no Redis'}), one gateway process each, ${connections} connections:

\`\`\`graphql
${HOME}
\`\`\`

- **ours-on**: our gateway with governance on — JWT, rate limits on ${process.env.REDIS_URL ? 'Redis' : 'memory'} (rotated variant only),
  graphql-armor and cost limits, tracing at 10 % parent-based sampling exported to a discarding sink.
- **ours-off**: our gateway with rate limits and tracing off (\`RATE_LIMITS=off\`, \`OTEL_SDK_DISABLED=true\`); JWT and the operation limits have no off switch and stay.
- **apollo**: stock \`new ApolloGateway({ supergraphSdl })\` in \`@apollo/server\` standalone (\`bench/peers/apollo-stock.mjs\`).
- **hive**: \`hive-gateway supergraph\` (@graphql-hive/gateway ${hiveVersion()}, \`--fork 1\`), stock (\`bench/peers/hive-gateway.config.mjs\`).

${warmup} s of warm-up per gateway, then ${rounds} rounds × ${duration} s, each gateway loaded alone, order rotated; medians, ratios per round.
Our Node options: \`${SERVICE_NODE_OPTIONS.join(' ')}\`; the peers run on Node's defaults.

**Rotated** — tokens rotated over ${tokens.length} users, so that every response differs:

${table(results.rotated)}

**Identical** — one request repeated (same user, same body); ours-on with rate limits off here (one user at these rates is over any per-user limit):

${table(results.identical)}

**S2 targets** (ours-on):

| target | measured | |
|---|---|---|
${targets.map((t) => `| ${t.target} | ${t.value} | ${t.met ? 'met' : '**not met**'} |`).join('\n')}
`;
    // A run shortened through BENCH_* is a sanity check too: printed, never recorded.
    const shortened = ['BENCH_DURATION', 'BENCH_ROUNDS', 'BENCH_WARMUP'].some((name) => process.env[name]);
    if (quick || shortened) {
      for (const [variant, s] of Object.entries(results)) log(`${variant} (${quick ? 'quick' : 'shortened'} run, not figures):\n${table(s)}`);
      if (shortened) for (const t of targets) log(`${t.target}: ${t.value} ${t.met ? 'met' : 'NOT MET'} (shortened run, not figures)`);
      log(`${quick ? 'quick' : 'shortened'}: every gateway answered the home query identically; ${failures.length ? `failures: ${failures.join('; ')}` : 'no errors'} (${round((Date.now() - started) / 1000, 1)} s)`);
    } else {
      record('gateways', command, { results, targets, users: tokens.length, rounds, duration, warmup, quick }, markdown);
      for (const t of targets) log(`${t.target}: ${t.value} ${t.met ? 'met' : 'NOT MET'}`);
    }
    if (failures.length) throw new Error(`requests failed under load: ${failures.join('; ')}`);
  } finally {
    await Promise.all(running.map((g) => stopChild(g.child)));
    if (subgraphs) await subgraphs.stop();
    await sink.close();
    await data.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function hiveVersion() {
  try {
    return JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/@graphql-hive/gateway/package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

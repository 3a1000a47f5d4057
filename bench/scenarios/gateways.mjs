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
// BENCH_BASELINE=<another checkout, built> adds its gateway as base-on and base-off to the same
// rounds and prints ours ÷ base per gateway CPU-second (a change's before/after); recorded nowhere.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, load, log, otlpSink, peakRssMiB, prepareData, record, rotated, round, signTokens, startSubgraphs, stopChild } from '../lib.mjs';
import { SERVICE_NODE_OPTIONS } from '../../scripts/services.mjs';
import { gatewayKinds, hiveVersion, HOME, rewriteSupergraph, startGateways, verifySameData } from './gateways/stack.mjs';
import { summarize, table } from './gateways/report.mjs';

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
    for (const [variant, s] of Object.entries(results)) {
      for (const [label, x] of Object.entries(s)) {
        if (x.vsBase) log(`${variant} ${label} ÷ ${label.replace('ours-', 'base-')}: ${x.vsBase.rpsPerGatewayCpu} req per gateway CPU-s (median of rounds)`);
      }
    }
    if (quick || shortened || process.env.BENCH_BASELINE) {
      // A before/after run (BENCH_BASELINE) is printed, never recorded: its six-gateway rounds are not S2's.
      const kind = quick ? 'quick' : shortened ? 'shortened' : 'before/after';
      for (const [variant, s] of Object.entries(results)) log(`${variant} (${kind} run, not recorded):\n${table(s)}`);
      if (shortened) for (const t of targets) log(`${t.target}: ${t.value} ${t.met ? 'met' : 'NOT MET'} (shortened run, not figures)`);
      log(`${kind}: every gateway answered the home query identically; ${failures.length ? `failures: ${failures.join('; ')}` : 'no errors'} (${round((Date.now() - started) / 1000, 1)} s)`);
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

// Issue 23, "Plans and warm-up": latency in the 10 s after a supergraph swap against the 10 s before it,
// with pre-planning on (the gateway plans the most used operations against the new supergraph before it
// swaps it in, gateway/src/plan-cache.ts) and off (`SUPERGRAPH_PREPLAN=off`: the swap empties the plan
// cache, as Apollo Gateway alone does, and each operation is planned on its first request after it).
//
// Two gateways (production mode, one process each, same five subgraphs started once), each on its own copy
// of the supergraph file. A steady open-loop load (lib.mjs pacedLoad) mixes the home query with four other
// operations, tokens rotated over the seeded users; 10 s into it the gateway's file is replaced by a
// semantically equal composition with another hash (one description changed, differently every run), and
// every answer is assigned to the window it was due in: the 10 s before the write or the 10 s after it.
// The after-window includes what the swap costs: reading and health-checking the new file, pre-planning
// (while the previous supergraph serves), Apollo Gateway building its new schema and planner. Runs take
// turns between the two gateways; medians over runs.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GATEWAY_SECRET_HEADER } from '@suoke/platform';
import { freePort, latencyStats, log, median, pacedLoad, prepareData, record, round, signTokens, spawnService, startSubgraphs, stopChild } from '../lib.mjs';
import { HOME, rewriteSupergraph, waitGraphQL } from './gateways/stack.mjs';

/** What the load sends, each with its operation name as Apollo Client sends it; HOME twice as often as each other. */
const OPERATIONS = [
  { operationName: 'Home', query: HOME, weight: 2 },
  { operationName: 'Me', query: 'query Me { me { id displayName roles } }', weight: 1 },
  { operationName: 'Constitutions', query: 'query Constitutions { constitutions { code name } }', weight: 1 },
  { operationName: 'Summary', query: 'query Summary { me { healthSummary(days: 7) { type count average latest } } }', weight: 1 },
  { operationName: 'Consultations', query: 'query Consultations { me { consultations(first: 5) { edges { node { id status startedAt } } } } }', weight: 1 },
];
const BODIES = OPERATIONS.flatMap(({ operationName, query, weight }) => Array.from({ length: weight }, () => JSON.stringify({ query, operationName })));
/** The description every run changes (it is in the user subgraph's SDL, so in the composed supergraph). */
const DESCRIPTION = '"""Stable identifier (UUID)."""';

/** Replaces `file` by a copy of `base` whose description names `mark`, as a publisher does (write beside, rename over). */
function publish(file, base, mark) {
  if (!base.includes(DESCRIPTION)) throw new Error(`supergraph no longer has the description ${DESCRIPTION} this scenario changes`);
  writeFileSync(`${file}.next`, base.replaceAll(DESCRIPTION, `"""Stable identifier (UUID), ${mark}."""`));
  renameSync(`${file}.next`, file);
}

/** The gateway's log lines (LOG_FILE, JSON) about its swaps since `since` (ms since the epoch): when each was applied, what pre-planning did. */
function swapEvents(logFile, since) {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const wanted = new Set(['supergraph updated', 'supergraph pre-planned', 'supergraph rejected; the previous one keeps serving', 'supergraph swap preparation failed; swapping without it']);
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .filter((entry) => wanted.has(entry.msg) && entry.time >= since);
}

export async function swap({ quick, command }) {
  const rounds = quick ? 1 : Number(process.env.BENCH_ROUNDS ?? 5);
  const windowS = quick ? 3 : 10;
  const rate = quick ? 20 : Number(process.env.SWAP_RATE ?? 40);
  const warmupS = quick ? 2 : 10;
  const data = await prepareData({ users: quick ? 20 : 200 });
  const dirs = [];
  let subgraphs;
  const gateways = [];
  try {
    const tokens = await signTokens(await data.userIds());
    subgraphs = await startSubgraphs({ data, label: 'swap', gatewayPort: await freePort(), env: { OTEL_SDK_DISABLED: 'true' } });
    for (const [label, preplan] of [['preplan-on', 'on'], ['preplan-off', 'off']]) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `suoke-bench-swap-${label}-`));
      dirs.push(dir);
      const file = rewriteSupergraph(subgraphs.urls, dir);
      const port = await freePort();
      const logFile = path.join(dir, 'gateway.log');
      const env = { ...subgraphs.base, SUPERGRAPH_PATH: file, GATEWAY_SECRET_HEADER, GATEWAY_PORT: String(port), SUPERGRAPH_PREPLAN: preplan, OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'info', LOG_FILE: logFile };
      for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_TRACES_SAMPLER', 'OTEL_TRACES_SAMPLER_ARG']) delete env[name];
      const child = spawnService(`swap/${label}`, 'gateway/dist/index.js', env);
      const gateway = { label, url: `http://127.0.0.1:${port}/graphql`, child, file, logFile, base: readFileSync(file, 'utf8') };
      gateways.push(gateway);
      await waitGraphQL(gateway.url, child);
    }
    const headersFor = (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
    const bodyFor = (i) => BODIES[i % BODIES.length];
    for (const g of gateways) await pacedLoad({ url: g.url, bodyFor, headersFor, rate, duration: warmupS, connections: 20 });

    const runs = Object.fromEntries(gateways.map((g) => [g.label, []]));
    for (let r = 0; r < rounds; r += 1) {
      for (const g of r % 2 === 0 ? gateways : [...gateways].reverse()) {
        const before = [];
        const after = [];
        let failed = 0;
        let writtenAt;
        let writtenWall = Infinity;
        const timer = setTimeout(() => {
          writtenAt = performance.now();
          writtenWall = Date.now();
          publish(g.file, g.base, `run ${r + 1} ${Date.now()}`);
        }, windowS * 1000);
        const run = await pacedLoad({
          url: g.url,
          bodyFor,
          headersFor,
          rate,
          duration: 2 * windowS + 0.5,
          connections: 20,
          processes: { gateway: g.child },
          onResult: ({ due, latency, status }) => {
            if (status !== 200) failed += 1;
            if (writtenAt === undefined || due < writtenAt) before.push(latency);
            else if (due - writtenAt <= windowS * 1000) after.push(latency);
          },
        });
        clearTimeout(timer);
        // A swap later than the window (a loaded machine) is waited for, and shows in the table's write → swap column.
        let events = swapEvents(g.logFile, writtenWall);
        for (let waited = 0; !events.some((e) => e.msg === 'supergraph updated') && waited < 30_000; waited += 200) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          events = swapEvents(g.logFile, writtenWall);
        }
        const applied = events.find((e) => e.msg === 'supergraph updated');
        if (!applied) throw new Error(`${g.label}: the gateway did not swap in the new supergraph (${JSON.stringify(events)})`);
        const preplanned = events.find((e) => e.msg === 'supergraph pre-planned');
        // Every operation, served by the new supergraph (from plans made ahead when on), answers with data and no errors.
        for (const [n, body] of BODIES.entries()) {
          const response = await fetch(g.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headersFor(n) }, body });
          const json = await response.json();
          if (!response.ok || json.errors || !json.data) throw new Error(`${g.label}: after the swap ${body.slice(0, 60)}… answered ${response.status} ${JSON.stringify(json).slice(0, 300)}`);
        }
        const result = {
          round: r,
          before: latencyStats(before),
          after: latencyStats(after),
          swapMs: applied.time - writtenWall,
          preplanned: preplanned ? { planned: preplanned.planned, invalid: preplanned.invalid, ms: preplanned.ms } : undefined,
          failed: failed + run.errors,
          rpsPerGatewayCpu: round(run.rpsPerGatewayCpu, 1),
        };
        runs[g.label].push(result);
        log(`${g.label} run ${r + 1}: p50 ${result.before.p50} → ${result.after.p50} ms, p99 ${result.before.p99} → ${result.after.p99} ms, swapped ${result.swapMs} ms after the write${preplanned ? `, ${preplanned.planned} plans made ahead in ${preplanned.ms} ms` : ''}, ${result.failed} failed`);
      }
    }

    const failures = Object.entries(runs).flatMap(([label, list]) => list.filter((x) => x.failed > 0).map((x) => `${label} run ${x.round + 1}: ${x.failed} failed`));
    const summary = Object.fromEntries(
      Object.entries(runs).map(([label, list]) => {
        const m = (pick) => round(median(list.map(pick)), 2);
        return [
          label,
          {
            p50Before: m((x) => x.before.p50),
            p99Before: m((x) => x.before.p99),
            p50After: m((x) => x.after.p50),
            p99After: m((x) => x.after.p99),
            maxAfter: m((x) => x.after.max),
            p99Ratio: m((x) => x.after.p99 / x.before.p99),
            swapMs: m((x) => x.swapMs),
            planned: list[0]?.preplanned ? m((x) => x.preplanned.planned) : undefined,
            preplanMs: list[0]?.preplanned ? m((x) => x.preplanned.ms) : undefined,
            runs: list,
          },
        ];
      }),
    );
    const rows = Object.entries(summary).map(
      ([label, s]) =>
        `| ${label} | ${s.p50Before} | ${s.p99Before} | ${s.p50After} | ${s.p99After} | **${s.p99Ratio}** | ${s.maxAfter} | ${s.swapMs} | ${s.planned === undefined ? '—' : `${s.planned} in ${s.preplanMs} ms`} | ${s.runs.map((x) => `${x.before.p99}/${x.after.p99}`).join(', ')} |`,
    );
    const markdown = `
A steady ${rate} req/s (open loop) of five operations, tokens rotated over ${tokens.length} users; ${windowS} s into each run the supergraph file
is replaced; latency of requests due in the ${windowS} s before the write against the ${windowS} s after it. ${rounds} runs each, taking turns,
after ${warmupS} s of warm-up; medians over runs.

| gateway | p50 before ms | p99 before ms | p50 after ms | p99 after ms | **p99 after ÷ before** | max after ms | write → swap ms | made ahead | p99 before/after by run |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
    if (quick) log(`quick run, not figures:\n${markdown}`);
    else record('swap', command, { summary, rate, windowS, rounds, users: tokens.length }, markdown);
    if (failures.length) throw new Error(`requests failed: ${failures.join('; ')}`);
  } finally {
    await Promise.all(gateways.map((g) => stopChild(g.child)));
    if (subgraphs) await subgraphs.stop();
    await data.drop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

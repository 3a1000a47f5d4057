// Issue 9, S1: the seed document's auth scenario — an authenticated
// `me { id displayName roles }` through the gateway at a fixed 1500 requests/s
// over 1000 connections for 60 s, tokens rotated over 1,000 seeded users with a
// month of observations, every governance feature on (JWT, rate limits in
// Redis, security plugins, tracing at its default). Three runs, medians.
// Targets: average ≤ 50 ms, p99 ≤ 250 ms, 0 errors.
import os from 'node:os';
import { platform } from '../../scripts/services.mjs';
import { loadRun, metOrNot } from '../measure.mjs';
import { log, median, prepareData, record, round, signTokens, startStack } from '../lib.mjs';

const QUERY = JSON.stringify({ query: '{ me { id displayName roles } }' });
const TARGET = { average: 50, p99: 250 };

export async function auth({ quick, command }) {
  const rate = quick ? 200 : 1500;
  const connections = quick ? 50 : 1000;
  const duration = quick ? 3 : 60;
  const runs = quick ? 1 : 3;
  const warmup = quick ? 1 : 15;
  const users = quick ? 50 : 1000;
  // GATEWAY_WORKERS from the environment (default 1): on a 2-core machine two workers lost to one
  // (1290 against 1492 req/s achieved; bench/RESULTS.md, Tuning), the cores being already full.
  const workers = Number(process.env.GATEWAY_WORKERS ?? 1);
  const data = await prepareData({ users, days: quick ? 7 : 30 });
  let stack;
  try {
    const { DEFAULT_ROOT_RULE: DEFAULT_RATE_LIMIT } = await platform();
    const tokens = await signTokens(await data.userIds());
    const headersFor = (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
    // Per-user limits on `me` (the default root rule) must not reject this traffic: say so if they would.
    const perUserPerWindow = (rate * DEFAULT_RATE_LIMIT.duration) / tokens.length;
    const limitNote =
      perUserPerWindow <= DEFAULT_RATE_LIMIT.limit
        ? `Rate limits on: ${rate} req/s over ${tokens.length} users is ${round(perUserPerWindow, 0)} requests per user per ${DEFAULT_RATE_LIMIT.duration} s, ` +
          `under \`me\`'s default limit of ${DEFAULT_RATE_LIMIT.limit}, so none is rejected by design.`
        : `**Rate limits on: ${rate} req/s over ${tokens.length} users is ${round(perUserPerWindow, 0)} requests per user per ${DEFAULT_RATE_LIMIT.duration} s, ` +
          `over \`me\`'s default limit of ${DEFAULT_RATE_LIMIT.limit}: the limits reject part of this traffic (counted as non-2xx).**`
    log(limitNote.replaceAll('*', ''));
    stack = await startStack({ data, label: 'auth', env: { GATEWAY_WORKERS: String(workers) } });
    const probe = await (await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headersFor(0) }, body: QUERY })).json();
    if (probe.errors || !probe.data?.me?.id) throw new Error(`me failed: ${JSON.stringify(probe).slice(0, 300)}`);
    await loadRun({ url: stack.gatewayUrl, body: QUERY, headersFor, connections, duration: warmup, rate, paced: true });

    const results = [];
    for (let r = 0; r < runs; r += 1) {
      const result = await loadRun({ url: stack.gatewayUrl, body: QUERY, headersFor, connections, duration, rate, processes: stack.processes, paced: true });
      results.push(result);
      log(`auth run ${r + 1}: ${result.rps} req/s, avg ${result.average} ms, p50 ${result.p50}, p95 ${result.p95}, p99 ${result.p99}, errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, CPU ${JSON.stringify(result.cpu)}`);
    }
    const med = (pick) => round(median(results.map(pick)), 2);
    const names = Object.keys(results[0].cpu);
    const summary = {
      rate,
      gatewayWorkers: workers,
      connections,
      duration,
      users: tokens.length,
      achievedRps: med((x) => x.rps),
      average: med((x) => x.average),
      p50: med((x) => x.p50),
      p95: med((x) => x.p95),
      p99: med((x) => x.p99),
      errors: results.reduce((s, x) => s + x.errors, 0),
      timeouts: results.reduce((s, x) => s + x.timeouts, 0),
      non2xx: results.reduce((s, x) => s + x.non2xx, 0),
      cpuSeconds: Object.fromEntries(names.map((n) => [n, med((x) => x.cpu[n])])),
      peakRssMiB: Object.fromEntries(Object.keys(results[0].peakRss).map((n) => [n, Math.max(...results.map((x) => x.peakRss[n]))])),
      runs: results,
    };
    const bad = summary.errors + summary.timeouts + summary.non2xx;
    const targets = {
      average: summary.average <= TARGET.average,
      p99: summary.p99 <= TARGET.p99,
      errors: bad === 0,
    };
    summary.targets = targets;
    const table = `
\`{ me { id displayName roles } }\` through the gateway at a fixed ${rate} req/s, open loop (\`pacedLoad\`), over ${connections} connections for ${duration} s,
the gateway as ${workers === 1 ? 'one process' : `a primary and ${workers} workers (\`GATEWAY_WORKERS=${workers}\`; CPU and peak RSS summed over them)`},
tokens rotated over ${tokens.length} users (${quick ? 7 : 30} days each), governance on (rate limits in ${process.env.REDIS_URL ? 'Redis' : 'memory'});
${runs} runs after ${warmup} s of warm-up, medians.

| figure | median | runs | target | |
|---|---|---|---|---|
| achieved req/s | ${summary.achievedRps} | ${results.map((x) => x.rps).join(', ')} | ${rate} | |
| average ms | ${summary.average} | ${results.map((x) => x.average).join(', ')} | ≤ ${TARGET.average} | ${metOrNot(targets.average)} |
| p50 ms | ${summary.p50} | ${results.map((x) => x.p50).join(', ')} | | |
| p95 ms | ${summary.p95} | ${results.map((x) => x.p95).join(', ')} | | |
| p99 ms | ${summary.p99} | ${results.map((x) => x.p99).join(', ')} | ≤ ${TARGET.p99} | ${metOrNot(targets.p99)} |
| errors / timeouts / non-2xx (sum of runs) | ${summary.errors} / ${summary.timeouts} / ${summary.non2xx} | | 0 | ${metOrNot(targets.errors)} |

CPU seconds per ${duration} s run (median) and peak RSS; \`bench\` is the load generator, sharing the machine's ${os.cpus().length} cores:

| process | ${names.join(' | ')} |
|---|${names.map(() => '---').join('|')}|
| CPU s | ${names.map((n) => summary.cpuSeconds[n]).join(' | ')} |
| peak RSS MiB | ${names.map((n) => summary.peakRssMiB[n] ?? '').join(' | ')} |

${limitNote}
`;
    record('auth', command, { ...summary, quick }, table);
    if (quick && bad > 0) throw new Error(`quick auth run: ${bad} failed requests`);
    log(`auth: avg ${summary.average} ms (target ≤ ${TARGET.average}), p99 ${summary.p99} ms (target ≤ ${TARGET.p99}), failed ${bad}${quick ? " — quick run, not figures" : ""}`);
  } finally {
    await stack?.stop();
    await data.drop();
  }
}

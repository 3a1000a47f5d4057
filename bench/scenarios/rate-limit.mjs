// Issue 5's figures: Redis commands per operation for a query with one limited
// root field, and throughput with limits on versus off on the same query,
// interleaved in one run.
import { Redis } from 'ioredis';
import { load, log, median, prepareData, record, redisCommands, round, signTokens, startStack } from '../lib.mjs';

const QUERY = JSON.stringify({ query: '{ me { id displayName } }' });

export async function rateLimit({ quick, command }) {
  if (!process.env.REDIS_URL) throw new Error('REDIS_URL must point at a Redis server: this scenario measures Redis commands');
  const rounds = quick ? 1 : 6;
  const duration = quick ? 2 : 10;
  const data = await prepareData({ users: quick ? 50 : 500 });
  const tokens = await signTokens(await data.userIds());
  const headersFor = (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
  const on = await startStack({ data, label: 'limits-on', env: { RATE_LIMITS: 'on' } });
  const off = await startStack({ data, label: 'limits-off', env: { RATE_LIMITS: 'off' } });
  const redis = new Redis(process.env.REDIS_URL);
  try {
    // Warm up both, then count Redis commands over a fixed number of operations. The warm-up asks for every
    // user twice, so that the user subgraph's entity cache holds them all (its memory level keeps an account
    // 10 s): the window then counts the limiter's commands in steady state, not the cache being filled.
    for (const stack of [on, off]) await load({ url: stack.gatewayUrl, body: QUERY, headersFor, amount: 2 * tokens.length, connections: 20 });
    const amount = quick ? 200 : 2000;
    const counts = {};
    for (const stack of [on, off]) {
      const before = await redisCommands(redis);
      const run = await load({ url: stack.gatewayUrl, body: QUERY, headersFor, amount, connections: 20 });
      const after = await redisCommands(redis);
      const delta = Object.fromEntries(Object.entries(after.byCommand).map(([k, v]) => [k, v - (before.byCommand[k] ?? 0)]).filter(([, v]) => v > 0));
      // Redis counts the Lua scripts' own calls (get/set/incrby/pttl/expire) in commandstats too;
      // they run inside the one EVALSHA round trip, so client commands exclude them.
      const scriptInner = delta.evalsha ? ['get', 'set', 'incrby', 'pttl', 'expire'].reduce((sum, command) => sum + (delta[command] ?? 0), 0) : 0;
      const client = Object.entries(delta).filter(([k]) => k !== 'info').reduce((s, [, v]) => s + v, 0) - scriptInner;
      counts[stack.label] = { perOperation: client / run.requests, byCommand: delta, non2xx: run.non2xx };
      log(`${stack.label}: ${JSON.stringify(counts[stack.label])}`);
    }

    const runs = { 'limits-on': [], 'limits-off': [] };
    for (let r = 0; r < rounds; r += 1) {
      for (const stack of r % 2 === 0 ? [on, off] : [off, on]) {
        const result = await load({ url: stack.gatewayUrl, body: QUERY, headersFor, duration, connections: 50, processes: stack.processes });
        runs[stack.label].push(result);
        log(`${stack.label} round ${r + 1}: ${round(result.rps, 0)} req/s, p95 ${result.p95} ms, non-2xx ${result.non2xx}`);
      }
    }
    const summary = Object.fromEntries(
      Object.entries(runs).map(([label, list]) => [
        label,
        {
          rps: round(median(list.map((x) => x.rps)), 0),
          p50: round(median(list.map((x) => x.p50)), 1),
          p95: round(median(list.map((x) => x.p95)), 1),
          p99: round(median(list.map((x) => x.p99)), 1),
          rpsPerGatewayCpu: round(median(list.map((x) => x.rpsPerGatewayCpu)), 0),
          errors: list.reduce((s, x) => s + x.errors + x.non2xx, 0),
          runs: list.map((x) => round(x.rps, 0)),
        },
      ]),
    );
    // Paired: each round's on over the same round's off, then the median. Single runs of one variant on this
    // shared 2-core machine differ by up to a third between rounds, so a ratio of two medians drifts with
    // whichever rounds happened to be slow; a pair, run back to back, shares most of that drift.
    const paired = (field) => round(median(runs['limits-on'].map((on, r) => on[field] / runs['limits-off'][r][field])), 3);
    const ratio = paired('rps');
    const ratioOfMedians = round(summary['limits-on'].rps / summary['limits-off'].rps, 3);
    // Requests per gateway CPU-second measures the gateway's share of the same cost.
    const cpuRatio = paired('rpsPerGatewayCpu');
    const roundRatios = runs['limits-on'].map((on, r) => round(on.rps / runs['limits-off'][r].rps, 3));
    const table = `
Query \`{ me { id displayName } }\` (one limited root field: the default 300/min per user) through the gateway, tokens rotated over ${tokens.length} users,
50 connections, ${rounds} rounds × ${duration} s per variant, interleaved (the order flipped every round).

| variant | req/s (median) | runs | p50 ms | p95 ms | p99 ms | req per gateway CPU-s | errors + non-2xx |
|---|---|---|---|---|---|---|---|
| limits on | ${summary['limits-on'].rps} | ${summary['limits-on'].runs.join(', ')} | ${summary['limits-on'].p50} | ${summary['limits-on'].p95} | ${summary['limits-on'].p99} | ${summary['limits-on'].rpsPerGatewayCpu} | ${summary['limits-on'].errors} |
| limits off | ${summary['limits-off'].rps} | ${summary['limits-off'].runs.join(', ')} | ${summary['limits-off'].p50} | ${summary['limits-off'].p95} | ${summary['limits-off'].p99} | ${summary['limits-off'].rpsPerGatewayCpu} | ${summary['limits-off'].errors} |

Throughput ratio on/off: **${ratio}** (target ≥ 0.95; median of each round's on over the same round's off: ${roundRatios.join(', ')};
ratio of the two medians ${ratioOfMedians}); requests per gateway CPU-second on/off: **${cpuRatio}**.

Redis commands sent per operation (INFO commandstats delta over ${amount} operations after a warm-up, Lua scripts' own calls excluded):
limits on **${round(counts['limits-on'].perOperation, 3)}**, limits off ${round(counts['limits-off'].perOperation, 3)} (target ≤ 1 per limited field).
Raw delta with limits on: \`${JSON.stringify(counts['limits-on'].byCommand)}\`.
`;
    record('rate-limit', command, { summary, ratio, ratioOfMedians, roundRatios, cpuRatio, redisCommandsPerOperation: counts, quick }, quick ? `(quick smoke run — not figures)\n${table}` : table);
    log(`ratio ${ratio}; redis commands/op on=${round(counts['limits-on'].perOperation, 3)}`);
  } finally {
    redis.disconnect();
    await on.stop();
    await off.stop();
    await data.drop();
  }
}

// Issue 9, S4: the gateway's own cost. One single-subgraph query (the knowledge
// subgraph's reference data) sent straight to the subgraph — with the gateway
// secret it demands and the same bearer token — versus the same query through
// the gateway (governance on). Requests go one at a time over a keep-alive
// connection and are timed with hrtime, so the difference is the gateway's
// added latency, not queueing. Runs alternate direct / gateway (order flipped
// every round); medians of the per-run p50 and p95. Target: ≤ 1 ms at p50.
import { GATEWAY_SECRET, log, median, prepareData, record, round, signTokens, startStack } from '../lib.mjs';
import { metOrNot, sequentialRun } from '../measure.mjs';
import { platform } from '../../scripts/services.mjs';

const QUERY = JSON.stringify({ query: '{ constitutions { code name } }' });
const TARGET_P50_MS = 1;

export async function overhead({ quick, command }) {
  const rounds = quick ? 1 : 5;
  const count = quick ? 200 : 3000;
  const warmup = quick ? 100 : 2000;
  const data = await prepareData({ users: quick ? 50 : 1000 });
  let stack;
  try {
    const { GATEWAY_SECRET_HEADER } = await platform();
    // A token on both paths: anonymous callers are limited per IP (300/min), signed-in ones per user.
    const tokens = await signTokens(await data.userIds());
    const withToken = (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
    stack = await startStack({ data, label: 'overhead' });
    const paths = {
      direct: { url: stack.subgraphUrls.knowledge, headersFor: (i) => ({ ...withToken(i), [GATEWAY_SECRET_HEADER]: GATEWAY_SECRET }) },
      gateway: { url: stack.gatewayUrl, headersFor: withToken },
    };
    for (const [name, target] of Object.entries(paths)) {
      const response = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', ...target.headersFor(0) }, body: QUERY });
      const json = await response.json();
      if (response.status !== 200 || json.errors || json.data?.constitutions?.length !== 9) throw new Error(`${name}: ${response.status} ${JSON.stringify(json).slice(0, 300)}`);
    }
    for (const target of Object.values(paths)) await sequentialRun({ ...target, body: QUERY, count: warmup });

    const runs = { direct: [], gateway: [] };
    for (let r = 0; r < rounds; r += 1) {
      for (const name of r % 2 ? ['gateway', 'direct'] : ['direct', 'gateway']) {
        const result = await sequentialRun({ ...paths[name], body: QUERY, count });
        if (result.failures > 0) throw new Error(`${name}: ${result.failures} of ${count} requests failed`);
        runs[name].push(result);
        log(`${name} round ${r + 1}: p50 ${result.p50} ms, p95 ${result.p95} ms, ${result.rps} req/s`);
      }
    }
    const summary = Object.fromEntries(
      Object.entries(runs).map(([name, list]) => [
        name,
        {
          p50: round(median(list.map((x) => x.p50)), 3),
          p95: round(median(list.map((x) => x.p95)), 3),
          p99: round(median(list.map((x) => x.p99)), 3),
          rps: round(median(list.map((x) => x.rps)), 1),
          runs: list.map((x) => x.p50),
        },
      ]),
    );
    // Added latency per round (gateway run minus the direct run of the same round), then the median.
    const added = (key) => round(median(runs.gateway.map((g, k) => g[key] - runs.direct[k][key])), 3);
    const addedP50 = added('p50');
    const addedP95 = added('p95');
    const table = `
\`{ constitutions { code name } }\` (knowledge subgraph only), one request at a time, direct to the subgraph versus through the gateway;
${rounds} rounds × ${count} requests per path, order flipped every round, after ${warmup} warm-up requests each; medians.

| path | p50 ms | p95 ms | p99 ms | req/s (one at a time) | p50 by round |
|---|---|---|---|---|---|
| direct | ${summary.direct.p50} | ${summary.direct.p95} | ${summary.direct.p99} | ${summary.direct.rps} | ${summary.direct.runs.join(', ')} |
| gateway | ${summary.gateway.p50} | ${summary.gateway.p95} | ${summary.gateway.p99} | ${summary.gateway.rps} | ${summary.gateway.runs.join(', ')} |

The gateway adds **${addedP50} ms at p50** (target ≤ ${TARGET_P50_MS} ms: ${metOrNot(addedP50 <= TARGET_P50_MS)}) and ${addedP95} ms at p95 (medians of each round's difference).
`;
    record('overhead', command, { summary, addedP50, addedP95, met: addedP50 <= TARGET_P50_MS, quick }, table);
    log(`overhead: gateway adds ${addedP50} ms at p50, ${addedP95} ms at p95`);
  } finally {
    await stack?.stop();
    await data.drop();
  }
}

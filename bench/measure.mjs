// Measurement helpers for the S1, S3 and S4 scenarios (auth, batching, overhead):
// load runs rounded for their tables (lib.mjs `load` does the measuring),
// one-at-a-time timing for comparing two endpoints, and the platform's SQL
// statement counter summed over the subgraphs' /metrics.
import http from 'node:http';
import { latencyStats, load, metricsHeaders, pacedLoad, round } from './lib.mjs';

/**
 * One run — autocannon's (`load`), or with `paced` an evenly spaced open-loop
 * one (`pacedLoad`) — its CPU, bench CPU and peak RSS rounded as the S1/S3 tables quote them.
 */
export async function loadRun(options) {
  const result = await (options.paced ? pacedLoad(options) : load(options));
  const cpu = Object.fromEntries(Object.entries(result.cpu).map(([name, seconds]) => [name, round(seconds, 2)]));
  cpu.bench = round(result.benchCpu, 2);
  const peakRss = Object.fromEntries(Object.entries(result.peakRss).map(([name, mib]) => [name, round(mib, 0)]));
  return { ...result, rps: round(result.rps, 1), cpu, peakRss };
}

/**
 * `count` requests one after another (or `concurrency` at a time) over a
 * keep-alive agent, timed with hrtime: sub-millisecond latencies for
 * comparing two endpoints. Every response must be 200 without errors.
 */
export async function sequentialRun({ url, body, headersFor, count, concurrency = 1 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL(url);
  const latencies = [];
  let failures = 0;
  let next = 0;
  const one = (k) =>
    new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headersFor(k) } },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            if (res.statusCode !== 200 || Buffer.concat(chunks).includes('"errors"')) failures += 1;
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await one(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  agent.destroy();
  return { requests: count, rps: round(count / seconds, 1), failures, ...latencyStats(latencies) };
}

/** Sum of `suoke_db_statements_total` over the given subgraph base URLs' /metrics. */
export async function sqlStatements(subgraphUrls) {
  let total = 0;
  const bySubgraph = {};
  for (const [name, graphqlUrl] of Object.entries(subgraphUrls)) {
    const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'), { headers: metricsHeaders })).text();
    let sum = 0;
    for (const line of text.split('\n')) {
      const match = /^suoke_db_statements_total(?:\{[^}]*\})?\s+([0-9.eE+]+)/.exec(line);
      if (match) sum += Number(match[1]);
    }
    bySubgraph[name] = sum;
    total += sum;
  }
  return { total, bySubgraph };
}

export function metOrNot(ok) {
  return ok ? 'met' : '**not met**';
}

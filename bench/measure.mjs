// Measurement helpers for the S1, S3 and S4 scenarios (auth, batching, overhead):
// exact latency percentiles from every response (autocannon's own summary has
// whole-millisecond buckets and no p95), CPU of each stack process and of the
// bench process itself (autocannon shares this 2-core machine), and the
// platform's SQL statement counter summed over the subgraphs' /metrics.
import http from 'node:http';
import autocannon from 'autocannon';
import { cpuSeconds, peakRssMiB, round } from './lib.mjs';

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
 * One autocannon run POSTing `body` with per-request headers, closed loop
 * (`connections`) or at a fixed overall rate (`rate` requests/s). Latency is
 * every response's own duration; CPU is utime + stime from /proc.
 */
export async function loadRun({ url, body, headersFor, connections, duration, rate, timeout = 10, processes = {} }) {
  const cpuBefore = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, cpuSeconds(child.pid)]));
  const benchBefore = process.cpuUsage();
  const latencies = [];
  let i = 0;
  const instance = autocannon({
    url,
    connections,
    duration,
    timeout,
    ...(rate ? { overallRate: rate } : {}),
    requests: [{ method: 'POST', setupRequest: (request) => ({ ...request, headers: { 'content-type': 'application/json', ...headersFor(i++) }, body }) }],
  });
  instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  const result = await instance;
  const bench = process.cpuUsage(benchBefore);
  const cpu = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, round(cpuSeconds(child.pid) - cpuBefore[name], 2)]));
  cpu.bench = round((bench.user + bench.system) / 1e6, 2);
  const peakRss = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, round(peakRssMiB(child.pid), 0)]));
  return {
    requests: result.requests.total,
    rps: round(result.requests.total / result.duration, 1),
    ...latencyStats(latencies),
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    cpu,
    peakRss,
  };
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
    const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text();
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

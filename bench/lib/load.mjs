// Load runs (autocannon closed loop, or paced open loop with undici) and the statistics over their results.
import autocannon from 'autocannon';
import { Client } from 'undici';
import { cpuSeconds, peakRssMiB } from './cpu.mjs';

/** `list` rotated left by `round`: interleaved runs take turns in a different order each round. */
export function rotated(list, round) {
  return list.map((_, i) => list[(i + round) % list.length]);
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

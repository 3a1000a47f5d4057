// A/B of two environments on the same query: `npm run bench -- ab` with
//   AB_A, AB_B    JSON objects of environment variables for each stack (gateway and subgraphs),
//                 e.g. '{"RATE_LIMITS":"off"}'; the value "OTLP_SINK" stands for a discarding OTLP endpoint;
//   AB_QUERY      the operation (default `{ me { id displayName } }`), tokens rotated over the seeded users;
//   AB_HEADERS    a JSON object of extra request headers for both, e.g. '{"accept-encoding":"gzip, br"}';
//   AB_ROUNDS, AB_DURATION   rounds (default 4) of DURATION seconds (default 10) per stack, order flipped each round;
//   AB_CONNECTIONS  connections of the measured load (default 50; 1 sends one request at a time);
//   AB_PROFILE    when set, every process of both stacks (each given bench/tools/cpu-profile.cjs and
//                 CPU_PROFILE_SIGNAL=SIGUSR2 through AB_A/AB_B's NODE_OPTIONS: without that handler SIGUSR2 ends a
//                 process) is sent SIGUSR2 before the first round and after the last, so its profile covers exactly
//                 the measured rounds. Add CPU_PROFILE_ONLY=gateway (or a list) to profile only those processes.
// Both stacks run at once on the same data; each is loaded alone (AB_CONNECTIONS), closed loop. Prints, per
// process, CPU-ms per request (PostgreSQL and Redis included) as medians, with each round's pair, for a
// change to be quoted in bench/RESULTS.md with the command that produced it. Records nothing itself.
import { execFileSync } from 'node:child_process';
import { cpuSeconds, load, log, median, otlpSink, prepareData, round, signTokens, startStack } from '../lib.mjs';

function serverCpuSeconds(name) {
  let pids = [];
  try {
    pids = execFileSync('pgrep', ['-f', name], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    // none running
  }
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

export async function ab({ quick }) {
  const sink = await otlpSink();
  const envOf = (name, fallback) =>
    Object.fromEntries(Object.entries(JSON.parse(process.env[name] ?? fallback)).map(([k, v]) => [k, v === 'OTLP_SINK' ? sink.url : String(v)]));
  const variants = { A: envOf('AB_A', '{}'), B: envOf('AB_B', '{"RATE_LIMITS":"off"}') };
  const query = process.env.AB_QUERY ?? '{ me { id displayName } }';
  const rounds = quick ? 1 : Number(process.env.AB_ROUNDS ?? 4);
  const duration = quick ? 2 : Number(process.env.AB_DURATION ?? 10);
  const connections = Number(process.env.AB_CONNECTIONS ?? 50);
  const data = await prepareData({ users: quick ? 50 : 500 });
  const tokens = await signTokens(await data.userIds());
  const extraHeaders = JSON.parse(process.env.AB_HEADERS ?? '{}');
  const headersFor = (i) => ({ ...extraHeaders, authorization: `Bearer ${tokens[i % tokens.length]}` });
  const body = JSON.stringify({ query });
  const stacks = [];
  try {
    for (const [label, env] of Object.entries(variants)) stacks.push(await startStack({ data, label, env }));
    for (const stack of stacks) await load({ url: stack.gatewayUrl, body, headersFor, amount: quick ? 200 : 2 * tokens.length + 2000, connections: 20 });
    const rows = { A: [], B: [] };
    const profile = () => process.env.AB_PROFILE && stacks.forEach((stack) => Object.values(stack.processes).forEach((child) => child.kill('SIGUSR2')));
    profile();
    for (let r = 0; r < rounds; r += 1) {
      for (const stack of r % 2 === 0 ? stacks : [...stacks].reverse()) {
        const servers = { postgres: serverCpuSeconds('postgres:'), redis: serverCpuSeconds('redis-server') };
        const run = await load({ url: stack.gatewayUrl, body, headersFor, duration, connections, processes: stack.processes });
        if (run.errors + run.non2xx > 0) throw new Error(`${stack.label}: ${run.errors} errors, ${run.non2xx} non-2xx`);
        const perRequest = (seconds) => round((1000 * seconds) / run.requests, 3);
        const row = { rps: round(run.rps, 0), p50: round(run.p50, 1) };
        for (const [name, seconds] of Object.entries(run.cpu)) row[name] = perRequest(seconds);
        row.postgres = perRequest(serverCpuSeconds('postgres:') - servers.postgres);
        row.redis = perRequest(serverCpuSeconds('redis-server') - servers.redis);
        row.bench = perRequest(run.benchCpu);
        rows[stack.label].push(row);
        log(`${stack.label} round ${r + 1}: ${JSON.stringify(row)}`);
      }
    }
    profile();
    if (process.env.AB_PROFILE) await new Promise((resolve) => setTimeout(resolve, 2000));
    const columns = Object.keys(rows.A[0]);
    const med = (label, column) => round(median(rows[label].map((row) => row[column])), 3);
    const lines = [
      `A = ${JSON.stringify(variants.A)}, B = ${JSON.stringify(variants.B)}${process.env.AB_HEADERS ? `, headers ${process.env.AB_HEADERS}` : ''};`,
      `\`${query}\`, ${connections} connection${connections === 1 ? '' : 's'}, ${rounds} × ${duration} s each, interleaved; CPU-ms per request, medians (pairs by round).`,
      '',
      `| figure | A | B | B ÷ A | rounds (A / B) |`,
      '|---|---|---|---|---|',
      ...columns.map((c) => `| ${c} | ${med('A', c)} | ${med('B', c)} | ${med('A', c) > 0 ? round(med('B', c) / med('A', c), 3) : '—'} | ${rows.A.map((row, i) => `${row[c]}/${rows.B[i][c]}`).join(', ')} |`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await Promise.all(stacks.map((stack) => stack.stop()));
    await sink.close();
    await data.drop();
  }
}

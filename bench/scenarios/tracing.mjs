// Issue 6's figures: what tracing costs on the cross-subgraph home query.
// Stacks of real processes in production mode, measured interleaved:
//   off      OTEL_SDK_DISABLED=true (no provider: resolver wrappers are not even installed)
//   on-100   every request sampled, resolver + DataLoader + SQL spans, exporter none
//   on-10    parent-based 10 % sampling, same spans on the sampled tenth
//   on-100-otlp  as on-100, exported over OTLP http/protobuf to a sink in this process
// on-100 and on-10 measure creating the spans (the issue's targets); on-100-otlp
// adds what batching, serialising and sending them costs.
import { createServer } from 'node:http';
import { freePort, load, log, median, prepareData, record, round, signTokens, startStack } from '../lib.mjs';

const HOME = 'query Home { me { displayName healthSummary(days: 7) { type count average latest } consultations(first: 5) { edges { node { id status } } } } }';

/** An OTLP/HTTP endpoint that accepts and discards, counting what it received. */
async function otlpSink() {
  const port = await freePort();
  const received = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (chunk) => {
      received.bytes += chunk.length;
    });
    req.on('end', () => {
      received.requests += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

export async function tracing({ quick, command }) {
  // Many short interleaved rounds, the order rotated each time: on this shared 2-core machine the
  // background load drifts over minutes, and fine interleaving spreads it over every variant.
  // Fresh stacks per epoch: a process can stay faster or slower than its twin for its whole life
  // (±20 % seen between stacks of the same variant), so each variant runs on more than one stack.
  const epochs = quick ? 1 : 2;
  const rounds = quick ? 1 : 4;
  const duration = quick ? 2 : 6;
  // JIT, connection pools and Postgres caches keep warming for several seconds: every stack gets this much load first.
  const warmup = quick ? 1 : 15;
  const data = await prepareData({ users: quick ? 50 : 500 });
  const tokens = await signTokens(await data.userIds());
  const headersFor = (i) => ({ authorization: `Bearer ${tokens[i % tokens.length]}` });
  const sink = await otlpSink();
  const on = { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', TRACE_RESOLVERS: 'on' };
  const variants = [
    { label: 'off', env: { OTEL_SDK_DISABLED: 'true' } },
    { label: 'on-100', env: { ...on, OTEL_TRACES_SAMPLER_ARG: '1', OTEL_TRACES_EXPORTER: 'none' } },
    { label: 'on-10', env: { ...on, OTEL_TRACES_SAMPLER_ARG: '0.1', OTEL_TRACES_EXPORTER: 'none' } },
    { label: 'on-100-otlp', env: { ...on, OTEL_TRACES_SAMPLER_ARG: '1', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } },
  ];
  let stacks = [];
  const body = JSON.stringify({ query: HOME });
  const runs = Object.fromEntries(variants.map((v) => [v.label, []]));
  let exported = { requests: 0, bytes: 0, operations: 0 };
  try {
    for (let epoch = 0; epoch < epochs; epoch += 1) {
      stacks = [];
      for (let i = 0; i < variants.length; i += 1) {
        const variant = variants[(i + epoch) % variants.length];
        stacks.push(await startStack({ data, label: variant.label, env: variant.env }));
      }
      // Every variant answers the query correctly before anything is timed.
      for (const stack of stacks) {
        const response = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', ...headersFor(0) }, body });
        const json = await response.json();
        if (json.errors || !json.data?.me) throw new Error(`${stack.label}: home query failed: ${JSON.stringify(json).slice(0, 300)}`);
      }
      for (const stack of stacks) await load({ url: stack.gatewayUrl, body, headersFor, duration: warmup });

      for (let r = 0; r < rounds; r += 1) {
        // Rotate the order each round so no variant always runs first (or last, on a warmer machine).
        const order = stacks.map((_, i) => stacks[(i + r) % stacks.length]);
        for (const stack of order) {
          const before = { ...sink.received };
          const result = await load({ url: stack.gatewayUrl, body, headersFor, duration, connections: 50, processes: stack.processes });
          const cpu = Object.values(result.cpu).reduce((sum, seconds) => sum + seconds, 0);
          runs[stack.label].push({ ...result, epoch, cpuMsPerRequest: (cpu * 1000) / result.requests });
          if (stack.label === 'on-100-otlp') {
            exported = {
              requests: exported.requests + sink.received.requests - before.requests,
              bytes: exported.bytes + sink.received.bytes - before.bytes,
              operations: exported.operations + result.requests,
            };
          }
          log(`${stack.label} epoch ${epoch + 1} round ${r + 1}: ${round(result.rps, 0)} req/s, p95 ${result.p95} ms, ${round((cpu * 1000) / result.requests, 2)} CPU-ms/req, non-2xx ${result.non2xx}`);
        }
      }
      await Promise.all(stacks.map((stack) => stack.stop()));
      stacks = [];
    }

    const summary = Object.fromEntries(
      Object.entries(runs).map(([label, list]) => [
        label,
        {
          rps: round(median(list.map((x) => x.rps)), 0),
          p50: median(list.map((x) => x.p50)),
          p95: median(list.map((x) => x.p95)),
          cpuMsPerRequest: round(median(list.map((x) => x.cpuMsPerRequest)), 2),
          errors: list.reduce((s, x) => s + x.errors + x.non2xx, 0),
          runs: list.map((x) => round(x.rps, 0)),
          // Median CPU-ms per request of each process: where the cost lands.
          cpuMsPerRequestByProcess: Object.fromEntries(
            Object.keys(list[0]?.cpu ?? {}).map((name) => [name, round(median(list.map((x) => (x.cpu[name] * 1000) / x.requests)), 3)]),
          ),
        },
      ]),
    );
    const off = summary.off;
    const ratio = (label) => round(summary[label].rps / off.rps, 3);
    const cpuRatio = (label) => round(off.cpuMsPerRequest / summary[label].cpuMsPerRequest, 3);
    const ratios = Object.fromEntries(Object.keys(summary).map((label) => [label, { throughput: ratio(label), cpu: cpuRatio(label) }]));
    const rows = Object.entries(summary)
      .map(([label, s]) => `| ${label} | ${s.rps} | ${s.runs.join(', ')} | ${s.p50} | ${s.p95} | ${s.cpuMsPerRequest} | ${ratios[label].throughput} | ${ratios[label].cpu} | ${s.errors} |`)
      .join('\n');
    const names = Object.keys(summary.off.cpuMsPerRequestByProcess);
    const perProcess = `| variant | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|\n${Object.entries(summary)
      .map(([label, s]) => `| ${label} | ${names.map((n) => s.cpuMsPerRequestByProcess[n]).join(' | ')} |`)
      .join('\n')}`;
    const table = `
The home query (user → health + diagnosis, three subgraphs: ${'`'}${HOME}${'`'}) through the gateway, tokens rotated over ${tokens.length} users, 50 connections, ${epochs} epochs of fresh stacks × ${rounds} rounds × ${duration} s per variant, interleaved (order rotated each round) after ${warmup} s of warm-up load per stack. Rate limits on (Redis). Spans per sampled request: gateway HTTP + gateway.* + per subgraph HTTP client/server, execute, non-trivial resolvers, DataLoader batches, SQL, Redis.

| variant | req/s (median) | runs | p50 ms | p95 ms | CPU-ms per request (all processes) | throughput vs off | CPU vs off | errors + non-2xx |
|---|---|---|---|---|---|---|---|---|
${rows}

- off: OTEL_SDK_DISABLED=true. on-100 / on-10: \`parentbased_traceidratio\` at 1 and 0.1, resolver spans on, OTEL_TRACES_EXPORTER=none (spans created, not exported).
- on-100-otlp: as on-100, exported with the default BatchSpanProcessor over OTLP http/protobuf to a discarding sink in the bench process (${exported.operations ? round(exported.bytes / exported.operations, 0) : 0} bytes of OTLP per operation, ${exported.requests} export requests).

CPU-ms per request by process (medians):

${perProcess}

- Targets: on-100 ≥ 0.85×, on-10 ≥ 0.95× of off (throughput). "CPU vs off" is off's CPU per request over the variant's: the same cost measured on CPU rather than wall-clock throughput, steadier on this 2-core machine where the load generator, Postgres, Redis and five Node processes share the cores.
`;
    record('tracing', command, { summary, ratios, exported, quick }, quick ? `(quick smoke run — not figures)\n${table}` : table);
    log(`ratios ${JSON.stringify(ratios)}`);
  } finally {
    await Promise.all(stacks.map((stack) => stack.stop()));
    await sink.close();
    await data.drop();
  }
}

// One client operation through the gateway gives one trace, from the gateway's
// HTTP span down to each subgraph's SQL statements, linked parent to child.
//
// Only telemetry modules are imported statically: the instrumentations must be
// enabled before graphql, http and ioredis load, as `@suoke/platform/telemetry/start`
// does first thing in every index.ts. The stack is imported after that.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { enableInstrumentation, flushTracing, instrumentationState, platformTracer, startTracing } from '../platform/src/telemetry/boot.js';
import type { GraphQLResponse, Stack } from './harness.js';

const exporter = new InMemorySpanExporter();
const PASSWORD = 'tracing-test-password-Zq81';
const EMAIL = `trace.${Date.now()}@example.com`;
/** A value that appears nowhere else: if any span recorded parameters, it would show. */
const WEIGHT = 173.25;

let stack: Stack;
let token: string;

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }`;
const RECORD = `mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted } }`;

/**
 * The subgraphs the home operation touches, each with the named field whose
 * resolver span must hold an SQL span, and a table its statement reads.
 */
const touched = [
  { subgraph: 'user', resolver: 'Query.me', table: '"user"."users"' },
  { subgraph: 'health', resolver: 'User.healthSummary', table: 'observations' },
  { subgraph: 'diagnosis', resolver: 'User.consultations', table: 'consultations' },
];
const HOME = 'query Home { me { displayName healthSummary(days: 7) { type count } consultations(first: 5) { edges { node { id } } } } }';
/** user and health only. */
const HOME_TWO = 'query Home { me { displayName healthSummary(days: 7) { type count } } }';

beforeAll(async () => {
  enableInstrumentation();
  await startTracing({
    serviceName: 'suoke-test',
    config: { OTEL_SDK_DISABLED: false, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const { startStack } = await import('./harness.js');
  stack = await startStack();

  const registered = await stack.query(REGISTER, { input: { email: EMAIL, password: PASSWORD, displayName: 'Trace' } });
  expect(registered.errors).toBeUndefined();
  token = registered.data?.register.accessToken;
  const recorded = await stack.query(
    RECORD,
    { input: [{ externalId: 'w-1', type: 'WEIGHT', value: WEIGHT, recordedAt: new Date(Date.now() - 3_600_000).toISOString() }] },
    token,
  );
  expect(recorded.errors).toBeUndefined();
});

afterAll(async () => {
  await stack?.stop();
});

/** Runs one operation and returns the spans of its trace, once the gateway's HTTP span has ended. */
async function traced(run: () => Promise<GraphQLResponse<Record<string, any>>>): Promise<{ response: GraphQLResponse<Record<string, any>>; spans: ReadableSpan[] }> {
  await flushTracing();
  exporter.reset();
  const response = await run();
  const deadline = Date.now() + 5_000;
  for (;;) {
    await flushTracing();
    const spans = exporter.getFinishedSpans();
    const gatewayServer = spans.find((s) => s.kind === SpanKind.SERVER && portOf(s) === port(stack.gatewayUrl));
    if (gatewayServer || Date.now() > deadline) return { response, spans };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function port(url: string): number {
  return Number(new URL(url).port);
}

function portOf(span: ReadableSpan): number | undefined {
  const value = span.attributes['server.port'] ?? span.attributes['net.host.port'];
  return value === undefined ? undefined : Number(value);
}

function parentOf(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan | undefined {
  const id = span.parentSpanContext?.spanId;
  return id ? spans.find((s) => s.spanContext().spanId === id) : undefined;
}

function childrenOf(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.parentSpanContext?.spanId === span.spanContext().spanId);
}

/** The trace as an indented tree (name, service port, duration), printed by the main test for humans reading the run. */
function renderTree(spans: ReadableSpan[]): string {
  const lines: string[] = [];
  const startOf = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
  const walk = (span: ReadableSpan, depth: number) => {
    const ms = span.duration[0] * 1e3 + span.duration[1] / 1e6;
    const where = portOf(span) !== undefined ? ` :${portOf(span)}` : '';
    const statement = typeof span.attributes['db.statement'] === 'string' ? ` — ${String(span.attributes['db.statement']).slice(0, 80)}` : '';
    lines.push(`${'  '.repeat(depth)}${span.name}${where} (${ms.toFixed(1)} ms)${statement}`);
    for (const child of childrenOf(span, spans).sort((a, b) => startOf(a) - startOf(b))) walk(child, depth + 1);
  };
  for (const root of spans.filter((s) => !parentOf(s, spans))) walk(root, 0);
  return lines.join('\n');
}

function only(spans: ReadableSpan[], what: string): ReadableSpan {
  expect(spans, what).toHaveLength(1);
  return spans[0]!;
}

describe('one trace per client operation', () => {
  it('links gateway.request → gateway.fetch → subgraph HTTP server span → execute → resolver → (DataLoader batch) → SQL', async () => {
    const { response, spans } = await traced(() => stack.query(HOME, {}, token));
    expect(response.errors).toBeUndefined();
    expect(response.data?.me.healthSummary).toEqual([{ type: 'WEIGHT', count: 1 }]);
    expect(response.data?.me.consultations.edges).toEqual([]);

    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    console.log(`span tree of ${HOME} (${spans.length} spans):\n${renderTree(spans)}`);

    const root = only(
      spans.filter((s) => !parentOf(s, spans)),
      'one root span',
    );
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(portOf(root)).toBe(port(stack.gatewayUrl));
    const request = only(
      childrenOf(root, spans).filter((s) => s.name === 'gateway.request'),
      'gateway.request under the gateway HTTP span',
    );
    only(
      childrenOf(request, spans).filter((s) => s.name === 'gateway.plan'),
      'gateway.plan under gateway.request',
    );
    const execute = only(
      childrenOf(request, spans).filter((s) => s.name === 'gateway.execute'),
      'gateway.execute',
    );
    const fetches = childrenOf(execute, spans).filter((s) => s.name === 'gateway.fetch');
    expect(fetches.map((f) => f.attributes.service).sort()).toEqual(touched.map((t) => t.subgraph).sort());

    for (const { subgraph, resolver, table } of touched) {
      const fetch = only(
        fetches.filter((f) => f.attributes.service === subgraph),
        `gateway.fetch ${subgraph}`,
      );
      // gateway.fetch stands for the HTTP call itself: its context travels in the
      // traceparent header, with no client span in between.
      expect(childrenOf(fetch, spans).filter((s) => s.kind === SpanKind.CLIENT)).toEqual([]);
      const server = only(
        childrenOf(fetch, spans).filter((s) => s.kind === SpanKind.SERVER),
        `${subgraph} HTTP server span under its gateway.fetch`,
      );
      // The traceparent reached the right process: the server span is the subgraph's own port.
      expect(portOf(server)).toBe(port(stack.subgraphUrls[subgraph]!));
      expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/graphql', 'http.response.status_code': 200 });
      const executeSpan = only(
        childrenOf(server, spans).filter((s) => s.name.startsWith('query')),
        `${subgraph} graphql execute span`,
      );
      const resolverSpan = only(
        childrenOf(executeSpan, spans).filter((s) => s.name === resolver),
        `${resolver} resolver span`,
      );
      expect(resolverSpan.attributes['graphql.field.coordinate']).toBe(resolver);

      const sql = spans.filter((s) => s.attributes['db.system'] === 'postgresql' && String(s.attributes['db.statement']).includes(table));
      expect(sql.length, `SQL on ${table}`).toBeGreaterThan(0);
      for (const statement of sql) {
        // These resolvers read through a DataLoader: the statement's parent is the
        // batch, and the batch's parent the resolver whose load() started it.
        const batch = parentOf(statement, spans)!;
        expect(batch.name).toMatch(/^dataloader\.batch \w+$/);
        expect(batch.attributes['dataloader.batch_size']).toBe(1);
        expect(parentOf(batch, spans)?.spanContext().spanId, `${statement.name} on ${table} belongs to ${resolver}`).toBe(resolverSpan.spanContext().spanId);
        expect(statement.kind).toBe(SpanKind.CLIENT);
        expect(String(statement.attributes['db.statement'])).toMatch(/\$1/);
      }
    }
    // Default (property-read) resolvers get no span: User.displayName is one.
    expect(spans.some((s) => s.name === 'User.displayName')).toBe(false);
  });

  it('records no parameter values, passwords, tokens or e-mail addresses in any span', async () => {
    const { spans } = await traced(async () => {
      const login = await stack.query(`mutation($input: LoginInput!) { login(input: $input) { accessToken } }`, { input: { email: EMAIL, password: PASSWORD } });
      expect(login.errors).toBeUndefined();
      return stack.query(`query { me { observations(first: 5) { edges { node { value } } } } }`, {}, token);
    });
    expect(spans.some((s) => s.attributes['db.system'] === 'postgresql')).toBe(true);
    const recorded = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
    for (const secret of [String(WEIGHT), PASSWORD, EMAIL, token]) expect(recorded).not.toContain(secret);
  });

  it('continues a client trace and follows its sampling decision', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const sampled = await traced(() => stack.query(HOME_TWO, {}, token, { traceparent: `00-${traceId}-1111111111111111-01` }));
    expect(new Set(sampled.spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    expect(sampled.spans.some((s) => s.name === 'User.healthSummary')).toBe(true);

    // flags 00: the client did not sample; parent-based sampling means nobody records
    // anything, and the gateway passes the decision on (same trace id, flags 00) so
    // that no subgraph starts a trace of its own.
    const unsampledTraceId = 'e'.repeat(32);
    const received = await traceparentsReceived(async () => {
      exporter.reset();
      const unsampled = await stack.query(HOME_TWO, {}, token, { traceparent: `00-${unsampledTraceId}-2222222222222222-00` });
      expect(unsampled.errors).toBeUndefined();
      expect(unsampled.data?.me.displayName).toBe('Trace');
    });
    const bySubgraph = received.filter((r) => r.port !== port(stack.gatewayUrl));
    expect(bySubgraph.map((r) => r.port).sort()).toEqual(['user', 'health'].map((name) => port(stack.subgraphUrls[name]!)).sort());
    for (const { traceparent } of bySubgraph) expect(traceparent).toMatch(new RegExp(`^00-${unsampledTraceId}-[0-9a-f]{16}-00$`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await flushTracing();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('creates no span for probes and scrapes', async () => {
    exporter.reset();
    const base = new URL(stack.gatewayUrl);
    expect((await fetch(new URL('/health/ready', base))).status).toBe(200);
    expect((await fetch(new URL('/metrics', base))).status).toBe(200);
    await flushTracing();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('routes unsampled work around every library instrumentation (they keep the originals platform calls)', () => {
    // Server spans on http and https servers; http(s).request/get, graphql parse/validate/execute, ioredis sendCommand.
    expect(instrumentationState()).toEqual({ enabled: true, serverSpans: 2, routed: 8 });
  });

  it('records a failing resolver by its error code, not its message', async () => {
    const { response, spans } = await traced(() =>
      stack.query(RECORD, { input: [{ externalId: 'w-bad', type: 'WEIGHT', value: 987.65, recordedAt: new Date().toISOString() }] }, token),
    );
    expect(response.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const failed = spans.find((s) => s.name === 'Mutation.recordObservations');
    expect(failed?.status).toEqual({ code: 2, message: 'BAD_USER_INPUT' });
    expect(JSON.stringify(spans.map((s) => [s.attributes, s.events, s.status]))).not.toContain('987.65');
  });
});

/** The `traceparent` of every GraphQL request the in-process servers receive while `run` runs, with the receiving port. */
async function traceparentsReceived(run: () => Promise<void>): Promise<{ port: number; traceparent: string | undefined }[]> {
  const { Server } = await import('node:http');
  const emit = Server.prototype.emit;
  const received: { port: number; traceparent: string | undefined }[] = [];
  Server.prototype.emit = function (this: InstanceType<typeof Server>, event: string | symbol, ...args: unknown[]) {
    const req = args[0] as import('node:http').IncomingMessage;
    if (event === 'request' && req.url?.startsWith('/graphql')) received.push({ port: req.socket.localPort!, traceparent: req.headers.traceparent as string | undefined });
    return emit.call(this, event, ...args);
  } as typeof emit;
  try {
    await run();
  } finally {
    Server.prototype.emit = emit;
  }
  return received;
}

describe('outgoing calls from a subgraph', () => {
  it('pass the trace on through fetch (a subgraph calling an outside API, e.g. a model provider)', async () => {
    const { createServer } = await import('node:http');
    let received: string | undefined;
    const server = createServer((req, res) => {
      received = req.headers.traceparent as string | undefined;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port: providerPort } = server.address() as { port: number };
    try {
      exporter.reset();
      const outer = await platformTracer.startActiveSpan('resolver calling a provider', async (span) => {
        await (await fetch(`http://127.0.0.1:${providerPort}/v1/chat?key=secret`, { method: 'POST', body: '{}' })).text();
        span.end();
        return span.spanContext();
      });
      await flushTracing();
      const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT);
      expect(client?.parentSpanContext?.spanId).toBe(outer.spanId);
      expect(received).toBe(`00-${outer.traceId}-${client?.spanContext().spanId}-01`);
      expect(client?.attributes).toMatchObject({
        'http.request.method': 'POST',
        'server.address': '127.0.0.1',
        'server.port': providerPort,
        'url.full': `http://127.0.0.1:${providerPort}/v1/chat`,
        'http.response.status_code': 200,
      });
    } finally {
      server.close();
    }
  });

  it('pass an unsampled decision on without recording anything, through fetch and node:http alike', async () => {
    const http = await import('node:http');
    const received: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      received.push(req.headers.traceparent as string | undefined);
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port: providerPort } = server.address() as { port: number };
    const unsampled = trace.setSpanContext(ROOT_CONTEXT, { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.NONE });
    try {
      exporter.reset();
      await context.with(unsampled, async () => {
        await (await fetch(`http://127.0.0.1:${providerPort}/v1/chat`, { method: 'POST', body: '{}' })).text();
        await new Promise<void>((resolve, reject) => {
          const request = http.request({ host: '127.0.0.1', port: providerPort, path: '/v1/chat', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          request.on('error', reject);
          request.end('{}');
        });
      });
      await flushTracing();
      expect(received).toEqual([`00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-00`]);
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      server.close();
    }
  });
});

describe('Sandbox in development', () => {
  it('returns the query plan when asked with Apollo-Query-Plan-Experimental', async () => {
    const response = await stack.query(HOME_TWO, {}, token, { 'apollo-query-plan-experimental': '1' });
    const plan = (response as { extensions?: { __queryPlanExperimental?: unknown } }).extensions?.__queryPlanExperimental;
    expect(typeof plan).toBe('string');
    expect(plan).toMatch(/Fetch\(service: "user"\)/);
    expect(plan).toMatch(/Fetch\(service: "health"\)/);
  });

  it('returns a federated trace (ftv1) with each subgraph’s per-field timings when asked', async () => {
    const { Trace } = await import('@apollo/usage-reporting-protobuf');
    const response = await stack.query(HOME_TWO, {}, token, { 'apollo-federation-include-trace': 'ftv1' });
    const ftv1 = (response as { extensions?: { ftv1?: string } }).extensions?.ftv1;
    expect(typeof ftv1).toBe('string');
    const trace = Trace.decode(Buffer.from(ftv1!, 'base64'));
    const fetches: { serviceName: string; fields: string[] }[] = [];
    const visit = (node: unknown): void => {
      if (!node || typeof node !== 'object') return;
      const n = node as Record<string, unknown>;
      const fetch = n.fetch as { serviceName?: string; trace?: { root?: unknown } } | undefined;
      if (fetch?.serviceName) fetches.push({ serviceName: fetch.serviceName, fields: fieldNames(fetch.trace?.root) });
      for (const value of Object.values(n)) if (value && typeof value === 'object') visit(value);
    };
    visit(trace.queryPlan);
    expect(fetches.map((f) => f.serviceName).sort()).toEqual(['health', 'user']);
    expect(fetches.find((f) => f.serviceName === 'health')?.fields).toContain('healthSummary');
  });
});

function fieldNames(node: unknown, out: string[] = []): string[] {
  if (!node || typeof node !== 'object') return out;
  const n = node as { responseName?: string; child?: unknown[] };
  if (n.responseName) out.push(n.responseName);
  for (const child of n.child ?? []) fieldNames(child, out);
  return out;
}

describe('Sandbox in production', () => {
  let production: Stack;
  beforeAll(async () => {
    const { startStack } = await import('./harness.js');
    production = await startStack({ gatewayEnv: { NODE_ENV: 'production' } });
  });
  afterAll(async () => {
    await production?.stop();
  });

  it('exposes neither the query plan nor ftv1 traces', async () => {
    const response = await production.query(HOME_TWO, {}, undefined, { 'apollo-query-plan-experimental': '1', 'apollo-federation-include-trace': 'ftv1' });
    expect(response.errors).toBeUndefined();
    expect((response as { extensions?: unknown }).extensions).toBeUndefined();
  });
});

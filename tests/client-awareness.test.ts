// Client awareness through the gateway, over real HTTP: the client-awareness headers
// (apollographql-client-name / -version) become bounded `client` labels on /metrics, the
// as-sent values in the request's log line, and apollo.client.* attributes on the request's
// span; a request without them is (unknown), a stranger (other), hostile values are cleaned
// and cannot grow the series; a trusted document sent without a name counts for its owner;
// Apollo Client 4's `clientAwareness` and a graphql-ws connection's params are read.
//
// Instrumentation first, the stack after (see tracing.test.ts): nothing from harness.ts is imported statically.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { enableInstrumentation, flushTracing, startTracing } from '../platform/src/telemetry/boot.js';
import type { GraphQLResponse, Stack } from './harness.js';

const exporter = new InMemorySpanExporter();
const logFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'suoke-client-awareness-')), 'gateway.log');
/** Apollo's form, written by `npm run codegen` (scripts/app-manifest.mjs): every document owned by suoke-app. */
const manifestFile = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'clients', 'app', 'generated', 'persisted-query-manifest.json');
const PROBE = 'query ClientProbe { me { id } }';

let stack: Stack;
let token: string;
let post: typeof import('./harness.js').post;

interface LogLine {
  msg: string;
  request_id?: string;
  client_name?: string;
  client_version?: string;
  operation?: string;
}

beforeAll(async () => {
  enableInstrumentation();
  await startTracing({
    serviceName: 'suoke-test',
    config: { OTEL_SDK_DISABLED: false, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const harness = await import('./harness.js');
  post = harness.post;
  stack = await harness.startStack({
    gatewayEnv: {
      LOG_LEVEL: 'debug',
      LOG_FILE: logFile,
      METRICS_CLIENT_NAMES: 'suoke-web',
      METRICS_OPERATION_NAMES: 'ClientProbe',
      TRUSTED_DOCUMENTS: 'allow',
      TRUSTED_DOCUMENTS_PATH: manifestFile,
    },
  });
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { operations: { id: string; name: string }[] };
  // The app's Register document by id, without client headers: attributed to the manifest's owner (tested below).
  registerId = manifest.operations.find((op) => op.name === 'Register')!.id;
  const registered = await post<{ register: { accessToken: string } }>(stack.gatewayUrl, {
    documentId: `sha256:${registerId}`,
    operationName: 'Register',
    variables: { input: { email: `client.${Date.now()}@example.com`, password: 'client-awareness-password-1', displayName: 'Client' } },
  });
  expect(registered.errors).toBeUndefined();
  registerResponse = registered;
  token = registered.data!.register.accessToken;
  // Five subgraphs on PGlite and a traced gateway: slow to start on a loaded 2-core CI machine.
}, 300_000);

let registerId: string;
let registerResponse: GraphQLResponse<{ register: { accessToken: string } }>;

afterAll(async () => {
  await stack?.stop();
});

// --- helpers -----------------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

async function scrape(): Promise<Sample[]> {
  const text = await (await fetch(new URL('/metrics', stack.gatewayUrl))).text();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

/** Requests counted, and durations observed, for these labels between two scrapes. */
async function counted(run: () => Promise<unknown>, labels: Record<string, string>): Promise<{ requests: number; durations: number; before: Sample[]; after: Sample[] }> {
  const before = await scrape();
  await run();
  const after = await scrape();
  const delta = (name: string, of: Record<string, string>) => value(after, name, of) - value(before, name, of);
  // The duration histogram is labelled by client but not by version (a series per bucket per label value).
  const { client_version: version, ...withoutVersion } = labels;
  void version;
  return { requests: delta('suoke_graphql_requests_total', labels), durations: delta('suoke_graphql_request_duration_seconds_count', withoutVersion), before, after };
}

function logLines(): LogLine[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

/** The per-operation line of one request (by its x-request-id). */
function operationLine(response: GraphQLResponse<unknown>): LogLine {
  const requestId = response.headers.get('x-request-id');
  const lines = logLines().filter((l) => l.msg === 'graphql operation' && l.request_id === requestId);
  expect(lines, `one operation line for ${requestId}`).toHaveLength(1);
  return lines[0]!;
}

/** The gateway's HTTP server span of the request sent with this trace id. */
async function requestSpan(traceId: string): Promise<ReadableSpan> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    await flushTracing();
    const span = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === traceId && s.attributes['server.port'] === Number(new URL(stack.gatewayUrl).port));
    if (span) return span;
    if (Date.now() > deadline) throw new Error(`no gateway request span in trace ${traceId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function traced(headers: Record<string, string> = {}): { traceId: string; headers: Record<string, string> } {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, headers: { ...headers, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } };
}

const probe = (headers: Record<string, string>) => stack.query(PROBE, {}, token, headers);

// --- tests -------------------------------------------------------------------------------------

describe('client awareness through the gateway', () => {
  it('a known client: its name and version as metric labels, in the log line and on the request span', async () => {
    const { traceId, headers } = traced({ 'apollographql-client-name': 'suoke-web', 'apollographql-client-version': '1.4.2' });
    let response!: GraphQLResponse;
    const delta = await counted(async () => {
      response = await probe(headers);
    }, { operation: 'ClientProbe', client: 'suoke-web', client_version: '1.4.2' });
    expect(response.errors).toBeUndefined();
    expect(response.data?.me).toBeTruthy();
    expect(delta).toMatchObject({ requests: 1, durations: 1 });
    expect(operationLine(response)).toMatchObject({ client_name: 'suoke-web', client_version: '1.4.2', operation: 'ClientProbe' });
    const span = await requestSpan(traceId);
    expect(span.attributes['apollo.client.name']).toBe('suoke-web');
    expect(span.attributes['apollo.client.version']).toBe('1.4.2');
    // Apollo Gateway's gateway.request, the request span's child, carries them too.
    const gatewayRequest = exporter.getFinishedSpans().find((s) => s.name === 'gateway.request' && s.spanContext().traceId === traceId);
    expect(gatewayRequest?.parentSpanContext?.spanId).toBe(span.spanContext().spanId);
    expect(gatewayRequest?.attributes['apollo.client.name']).toBe('suoke-web');
    expect(gatewayRequest?.attributes['apollo.client.version']).toBe('1.4.2');
  });

  it('without the headers: (unknown) everywhere, and the operation is answered as always', async () => {
    const { traceId, headers } = traced();
    let response!: GraphQLResponse;
    const delta = await counted(async () => {
      response = await probe(headers);
    }, { operation: 'ClientProbe', client: '(unknown)', client_version: '(unknown)' });
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(response.data?.me).toBeTruthy();
    expect(delta.requests).toBe(1);
    expect(operationLine(response)).toMatchObject({ client_name: '(unknown)', client_version: '(unknown)' });
    expect((await requestSpan(traceId)).attributes['apollo.client.name']).toBe('(unknown)');
  });

  it('an unknown client name: (other) as the label, the name as sent in the log line and span', async () => {
    const { traceId, headers } = traced({ 'apollographql-client-name': 'someones-script', 'apollographql-client-version': '0.0.1' });
    let response!: GraphQLResponse;
    const delta = await counted(async () => {
      response = await probe(headers);
    }, { operation: 'ClientProbe', client: '(other)', client_version: '(other)' });
    expect(delta.requests).toBe(1);
    expect(delta.after.some((s) => s.labels.client === 'someones-script')).toBe(false);
    expect(operationLine(response)).toMatchObject({ client_name: 'someones-script', client_version: '0.0.1' });
    expect((await requestSpan(traceId)).attributes['apollo.client.name']).toBe('someones-script');
  });

  it('a 10 KB name and control characters are cleaned and capped; nothing breaks', async () => {
    const huge = `suoke-web${'W'.repeat(10 * 1024)}`;
    // Bytes a header may carry (tab, obs-text): \x85 and \x9b are C1 controls once read as Latin-1, as Node does.
    const version = '\t1.\x852\x9b.3\t';
    const { traceId, headers } = traced({ 'apollographql-client-name': huge, 'apollographql-client-version': version });
    let response!: GraphQLResponse;
    const delta = await counted(async () => {
      response = await probe(headers);
    }, { operation: 'ClientProbe', client: '(other)' });
    expect(response.status).toBe(200);
    expect(response.errors).toBeUndefined();
    expect(delta.requests).toBe(1);
    const line = operationLine(response);
    expect(line.client_name).toBe(huge.slice(0, 128));
    expect(line.client_version).toBe('1.2.3');
    const span = await requestSpan(traceId);
    expect(span.attributes['apollo.client.name']).toBe(huge.slice(0, 128));
    expect(span.attributes['apollo.client.version']).toBe('1.2.3');
  });

  it('50 distinct unknown names add to one (other) series, never one each', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `stranger-${i}-${randomBytes(4).toString('hex')}`);
    const delta = await counted(
      () => Promise.all(names.map((name, i) => probe({ 'apollographql-client-name': name, 'apollographql-client-version': `9.${i}.0` }))),
      { operation: 'ClientProbe', client: '(other)', client_version: '(other)' },
    );
    expect(delta.requests).toBe(50);
    const series = (samples: Sample[]) =>
      new Set(samples.filter((s) => s.name === 'suoke_graphql_requests_total').map((s) => `${s.labels.operation}|${s.labels.client}|${s.labels.client_version}`));
    const added = [...series(delta.after)].filter((key) => !series(delta.before).has(key));
    // At most the one (other) series (none if an earlier test made it), and no stranger's name or version anywhere.
    expect(added.filter((key) => key !== 'ClientProbe|(other)|(other)')).toEqual([]);
    const text = JSON.stringify(delta.after);
    for (const name of names) expect(text).not.toContain(name);
    // Each name is in its own log line as sent.
    const logged = new Set(logLines().map((l) => l.client_name));
    for (const name of names) expect(logged.has(name), name).toBe(true);
  });

  it('a trusted document sent without a name header counts for the owner the manifest names', async () => {
    // The Register document of beforeAll, sent by id with no client headers.
    expect(registerResponse.errors).toBeUndefined();
    expect(operationLine(registerResponse)).toMatchObject({ client_name: 'suoke-app', client_version: '(unknown)', operation: 'Register' });
    const samples = await scrape();
    expect(value(samples, 'suoke_graphql_requests_total', { operation: 'Register', client: 'suoke-app', client_version: '(unknown)' })).toBe(1);
    // A header still wins over the manifest; a version alone keeps the owner's name.
    const { traceId, headers } = traced({ 'apollographql-client-version': '2.3.0' });
    const again = await post(stack.gatewayUrl, { documentId: `sha256:${registerId}`, variables: { input: { email: `client2.${Date.now()}@example.com`, password: 'client-awareness-password-2', displayName: 'C2' } } }, undefined, headers);
    expect(again.errors).toBeUndefined();
    expect(operationLine(again)).toMatchObject({ client_name: 'suoke-app', client_version: '2.3.0' });
    expect((await requestSpan(traceId)).attributes['apollo.client.name']).toBe('suoke-app');
    // The owner is known before planning, so gateway.request has it as well.
    expect(exporter.getFinishedSpans().find((s) => s.name === 'gateway.request' && s.spanContext().traceId === traceId)?.attributes['apollo.client.name']).toBe('suoke-app');
    const named = await post(stack.gatewayUrl, { documentId: `sha256:${registerId}`, variables: { input: { email: `client3.${Date.now()}@example.com`, password: 'client-awareness-password-3', displayName: 'C3' } } }, undefined, {
      'apollographql-client-name': 'suoke-web',
    });
    expect(operationLine(named)).toMatchObject({ client_name: 'suoke-web' });
  });

  it("Apollo Client 4's clientAwareness shows up under its name and version", async () => {
    const client = new ApolloClient({
      link: new HttpLink({ uri: stack.gatewayUrl, headers: { authorization: `Bearer ${token}` } }),
      cache: new InMemoryCache(),
      clientAwareness: { name: 'suoke-web', version: '4.0.0-apollo' },
    });
    const delta = await counted(async () => {
      const result = await client.query({ query: gql(PROBE), fetchPolicy: 'network-only' });
      expect(result.error).toBeUndefined();
    }, { operation: 'ClientProbe', client: 'suoke-web', client_version: '4.0.0-apollo' });
    expect(delta.requests).toBe(1);
    expect(logLines().filter((l) => l.msg === 'graphql operation' && l.client_version === '4.0.0-apollo').map((l) => l.client_name)).toEqual(['suoke-web']);
  });

  it("a graphql-ws subscription: the connection's params name the client on its span", async () => {
    const client = createClient({
      url: stack.gatewayUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}`, 'apollographql-client-name': 'suoke-web', 'apollographql-client-version': '5.1.0' },
    });
    try {
      const problems: unknown[] = [];
      const stop = client.subscribe({ query: 'subscription ClientNotifications { notificationAdded { id } }', operationName: 'ClientNotifications' }, { next: () => {}, error: (e) => problems.push(e), complete: () => {} });
      // Until the gateway has opened it (its span starts then), then closed by the client.
      const deadline = Date.now() + 5_000;
      let span: ReadableSpan | undefined;
      await new Promise((resolve) => setTimeout(resolve, 300));
      stop();
      while (!span && Date.now() < deadline) {
        await flushTracing();
        span = exporter.getFinishedSpans().find((s) => s.name === 'gateway.subscription' && s.attributes['graphql.operation.name'] === 'ClientNotifications');
        if (!span) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(problems).toEqual([]);
      expect(span, [...new Set(exporter.getFinishedSpans().map((s) => s.name))].join()).toBeDefined();
      expect(span?.attributes['apollo.client.name']).toBe('suoke-web');
      expect(span?.attributes['apollo.client.version']).toBe('5.1.0');
    } finally {
      await client.dispose();
    }
  });
  it('a multipart HTTP subscription: its headers name the client on its span', async () => {
    const controller = new AbortController();
    const response = await fetch(stack.gatewayUrl, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0, application/json',
        authorization: `Bearer ${token}`,
        'apollographql-client-name': 'suoke-web',
        'apollographql-client-version': '5.2.0',
      },
      body: JSON.stringify({ query: 'subscription ClientNotificationsHttp { notificationAdded { id } }', operationName: 'ClientNotificationsHttp' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/mixed/);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    const deadline = Date.now() + 5_000;
    let span: ReadableSpan | undefined;
    while (!span && Date.now() < deadline) {
      await flushTracing();
      span = exporter.getFinishedSpans().find((s) => s.name === 'gateway.subscription' && s.attributes['graphql.operation.name'] === 'ClientNotificationsHttp');
      if (!span) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(span?.attributes['suoke.transport']).toBe('multipart');
    expect(span?.attributes['apollo.client.name']).toBe('suoke-web');
    expect(span?.attributes['apollo.client.version']).toBe('5.2.0');
  });
});

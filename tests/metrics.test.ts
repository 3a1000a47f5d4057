// /metrics on the gateway and every subgraph: what an operation adds to each
// series, and whether the provisioned Grafana dashboard queries only series the
// services actually export.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { readSupergraphConfig } from '../scripts/supergraph-config.mjs';
import { codes, repoRoot, startStack, type Stack } from './harness.js';
import { parseMetrics, sampleSum, type Sample } from './scrape.js';

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`;
const RECORD = `mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken } }`;

let stack: Stack;
let token: string;
let email: string;

beforeAll(async () => {
  // Only known operation names become labels (METRICS_OPERATION_NAMES); others count as `(other)`.
  stack = await startStack({ gatewayEnv: { METRICS_OPERATION_NAMES: 'MetricsHome' } });
  email = `metrics.${Date.now()}@example.com`;
  const registered = await stack.query(REGISTER, { input: { email, password: 'metrics-password-1234', displayName: 'M' } });
  expect(registered.errors).toBeUndefined();
  token = registered.data?.register.accessToken;
});
afterAll(async () => {
  await stack?.stop();
});

async function scrape(graphqlUrl: string): Promise<Sample[]> {
  const response = await fetch(new URL('/metrics', graphqlUrl));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  return parseMetrics(await response.text());
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number => sampleSum(samples, name, labels) ?? 0;

describe('/metrics', () => {
  it('counts operations, duration and subgraph fetches at the gateway, by operation name and subgraph', async () => {
    const before = await scrape(stack.gatewayUrl);
    const home = await stack.query('query MetricsHome { me { displayName healthSummary(days: 7) { type } } }', {}, token);
    expect(home.errors).toBeUndefined();
    const after = await scrape(stack.gatewayUrl);
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

    expect(after.every((s) => s.labels.service === 'gateway')).toBe(true);
    expect(delta('suoke_graphql_requests_total', { operation: 'MetricsHome' })).toBe(1);
    expect(delta('suoke_graphql_request_errors_total', { operation: 'MetricsHome' })).toBe(0);
    expect(delta('suoke_graphql_request_duration_seconds_count', { operation: 'MetricsHome' })).toBe(1);
    expect(delta('suoke_graphql_request_duration_seconds_sum', { operation: 'MetricsHome' })).toBeGreaterThan(0);
    expect(delta('suoke_subgraph_fetches_total', { subgraph: 'user' })).toBe(1);
    expect(delta('suoke_subgraph_fetches_total', { subgraph: 'health' })).toBe(1);
    expect(delta('suoke_subgraph_fetch_duration_seconds_count', { subgraph: 'health' })).toBe(1);
    expect(delta('suoke_http_responses_total', { status: '200' })).toBe(1);
  });

  it('counts resolver errors by code in the subgraph and at the gateway, and the fetch that carried them', async () => {
    const gatewayBefore = await scrape(stack.gatewayUrl);
    const healthBefore = await scrape(stack.subgraphUrls.health!);
    const bad = await stack.query(RECORD, { input: [{ externalId: 'm-1', type: 'WEIGHT', value: 999, recordedAt: new Date().toISOString() }] }, token);
    expect(codes(bad)).toEqual(['BAD_USER_INPUT']);
    const gatewayAfter = await scrape(stack.gatewayUrl);
    const healthAfter = await scrape(stack.subgraphUrls.health!);

    const code = { code: 'BAD_USER_INPUT' };
    expect(value(healthAfter, 'suoke_graphql_errors_total', code) - value(healthBefore, 'suoke_graphql_errors_total', code)).toBe(1);
    expect(value(gatewayAfter, 'suoke_graphql_errors_total', code) - value(gatewayBefore, 'suoke_graphql_errors_total', code)).toBe(1);
    const fetchErrors = { subgraph: 'health', kind: 'graphql_errors' };
    expect(value(gatewayAfter, 'suoke_subgraph_fetch_errors_total', fetchErrors) - value(gatewayBefore, 'suoke_subgraph_fetch_errors_total', fetchErrors)).toBe(1);
    expect(healthAfter.every((s) => s.labels.service === 'health')).toBe(true);
  });

  it('counts rate-limit rejections', async () => {
    const before = await scrape(stack.gatewayUrl);
    // login: 5 a minute per e-mail address; the sixth is refused before any fetch.
    const ip = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}::1`;
    const outcomes: string[][] = [];
    for (let i = 0; i < 6; i += 1) {
      outcomes.push(codes(await stack.query(LOGIN, { input: { email, password: 'not-the-password' } }, undefined, { 'x-forwarded-for': ip })));
    }
    expect(outcomes.at(-1)).toEqual(['RATE_LIMITED']);
    const after = await scrape(stack.gatewayUrl);
    expect(value(after, 'suoke_rate_limit_rejections_total') - value(before, 'suoke_rate_limit_rejections_total')).toBe(1);
    expect(value(after, 'suoke_graphql_errors_total', { code: 'RATE_LIMITED' }) - value(before, 'suoke_graphql_errors_total', { code: 'RATE_LIMITED' })).toBe(1);
    expect(value(after, 'suoke_http_responses_total', { status: '429' }) - value(before, 'suoke_http_responses_total', { status: '429' })).toBe(1);
  });

  it('reports DataLoader batch sizes and database use in the subgraphs', async () => {
    const before = await scrape(stack.subgraphUrls.health!);
    // Two aliases of one per-user field: one batch of two keys, one SQL statement.
    const response = await stack.query('{ me { week: healthSummary(days: 7) { type } month: healthSummary(days: 30) { type } } }', {}, token);
    expect(response.errors).toBeUndefined();
    const after = await scrape(stack.subgraphUrls.health!);
    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

    expect(delta('suoke_dataloader_batch_size_count', { loader: 'summary' })).toBe(1);
    expect(delta('suoke_dataloader_batch_size_sum', { loader: 'summary' })).toBe(2);
    expect(delta('suoke_db_statements_total')).toBe(1);
    expect(value(after, 'suoke_db_pool_max_connections')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'suoke_db_statements_in_flight')).toBe(0);
  });

  it('is served by every subgraph in the supergraph', async () => {
    for (const [name, url] of Object.entries(stack.subgraphUrls)) {
      const samples = await scrape(url);
      expect(samples.some((s) => s.name === 'suoke_graphql_requests_total' || s.name === 'suoke_db_pool_max_connections'), name).toBe(true);
      expect(samples.every((s) => s.labels.service === name), name).toBe(true);
    }
  });
});

// The Grafana dashboard's queries are checked against a running stack's metrics and the recording rules in tests/dashboard.test.ts.

describe('operations stack (docker-compose.yml)', () => {
  const subgraphs = readSupergraphConfig().subgraphs as { name: string; port: number }[];

  it('Prometheus scrapes the gateway and every subgraph of supergraph.yaml, on their unpublished METRICS_PORT', () => {
    const config = YAML.parse(readFileSync(path.join(repoRoot, 'deploy/observability/prometheus.yml'), 'utf8')) as {
      scrape_configs: { metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = config.scrape_configs.flatMap((job) => job.static_configs.flatMap((c) => c.targets.map((t) => `${job.metrics_path ?? '/metrics'} ${t}`)));
    const compose = YAML.parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, string> }> };
    const metricsPort = (name: string, port: number) => compose.services[name]?.environment?.METRICS_PORT ?? String(port);
    expect(targets.sort()).toEqual([`/metrics gateway:${metricsPort('gateway', 4000)}`, ...subgraphs.map((s) => `/metrics ${s.name}:${metricsPort(s.name, s.port)}`)].sort());
    expect(metricsPort('gateway', 4000)).toBe('9464');
  });

  it('runs every subgraph, the gateway routed to each, Jaeger, Prometheus and Grafana with the dashboard', () => {
    const compose = YAML.parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, { environment?: Record<string, string>; volumes?: string[]; ports?: string[] }>;
    };
    for (const name of ['postgres', 'redis', 'jaeger', 'prometheus', 'grafana', 'gateway', ...subgraphs.map((s) => s.name)]) {
      expect(compose.services, name).toHaveProperty(name);
    }
    for (const { name, port } of subgraphs) {
      expect(compose.services[name]?.environment?.PORT, name).toBe(String(port));
      expect(compose.services.gateway?.environment?.[`SUBGRAPH_${name.toUpperCase()}_URL`], name).toBe(`http://${name}:${port}/graphql`);
      expect(compose.services[name]?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, name).toBe('http://jaeger:4318');
    }
    expect(compose.services.jaeger?.ports).toContain('16686:16686');
    expect(compose.services.grafana?.volumes?.some((v) => v.startsWith('./deploy/observability/grafana/dashboards:'))).toBe(true);
  });
});

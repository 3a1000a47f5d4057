// A full end-to-end run with every service logging at debug level to one file:
// the lines logged inside a request carry trace_id, span_id and request_id, and
// none of the values the client sent (passwords, tokens, health values) appear,
// even in a database error that quotes its parameters.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enableInstrumentation, startTracing } from '../platform/src/telemetry/boot.js';
import type { GraphQLResponse, Stack } from './harness.js';

const logFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'suoke-logs-')), 'all.log');
const PASSWORD = 'Log-Test-Password-7731';
const WRONG_PASSWORD = 'Wrong-Password-5529';
const EMAIL = `logs.${Date.now()}@example.com`;
/** Health values with digit runs that appear nowhere else. */
const VALUES = { WEIGHT: 58.6173, HEART_RATE: 187.2391, BODY_TEMPERATURE: 37.4419, BLOOD_GLUCOSE: 6.8347 };
/** Refused by a constraint added below: the database error quotes it as a parameter. */
const REJECTED = 88.8812;
const TRACE_ID = '7d3f0a51c2e94b6b8f11a0c4d2e6b9a1';

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken user { id } } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken } }`;
const REFRESH = `mutation($token: String!) { refreshToken(token: $token) { accessToken refreshToken } }`;
const RECORD = `mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted } }`;

let stack: Stack;
const sent: string[] = [PASSWORD, WRONG_PASSWORD, ...Object.values(VALUES).map(String), String(REJECTED)];
let failedRecord: GraphQLResponse;

// Instrumentation first, the stack after (see tracing.test.ts): nothing from harness.ts is imported statically.
const codes = (response: GraphQLResponse<unknown>) => (response.errors ?? []).map((e) => String(e.extensions?.code));

interface LogLine {
  service: string;
  level: number;
  msg: string;
  trace_id?: string;
  span_id?: string;
  request_id?: string;
  err?: { message?: string; stack?: string; params?: unknown };
}

beforeAll(async () => {
  enableInstrumentation();
  await startTracing({
    serviceName: 'suoke-test',
    config: { OTEL_SDK_DISABLED: false, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_TRACES_SAMPLER: 'parentbased_always_on' },
    spanProcessors: [],
  });
  const { startStack } = await import('./harness.js');
  // subgraphEnv reaches the gateway too.
  stack = await startStack({ subgraphEnv: { LOG_LEVEL: 'debug', LOG_FILE: logFile } });

  const registered = await stack.query(REGISTER, { input: { email: EMAIL, password: PASSWORD, displayName: 'Log' } });
  expect(registered.errors).toBeUndefined();
  sent.push(registered.data?.register.accessToken, registered.data?.register.refreshToken);
  const login = await stack.query(LOGIN, { input: { email: EMAIL, password: PASSWORD } });
  expect(login.errors).toBeUndefined();
  const token: string = login.data?.login.accessToken;
  sent.push(token, login.data?.login.refreshToken);
  const refreshed = await stack.query(REFRESH, { token: login.data?.login.refreshToken });
  expect(refreshed.errors).toBeUndefined();
  sent.push(refreshed.data?.refreshToken.accessToken, refreshed.data?.refreshToken.refreshToken);
  expect(codes(await stack.query(LOGIN, { input: { email: EMAIL, password: WRONG_PASSWORD } }))).toEqual(['UNAUTHENTICATED']);

  const at = (hours: number) => new Date(Date.now() - hours * 3_600_000).toISOString();
  const input = Object.entries(VALUES).map(([type, value], i) => ({ externalId: `log-${i}`, type, value, recordedAt: at(i + 1) }));
  expect((await stack.query(RECORD, { input }, token)).errors).toBeUndefined();
  expect((await stack.query('{ me { healthSummary(days: 7) { type average latest } observations(first: 10) { edges { node { value } } } } }', {}, token)).errors).toBeUndefined();
  // Out of range: refused by validation with BAD_USER_INPUT (a client error, not logged).
  expect(codes(await stack.query(RECORD, { input: [{ externalId: 'log-bad', type: 'WEIGHT', value: 4000.5, recordedAt: at(1) }] }, token))).toEqual(['BAD_USER_INPUT']);

  // A database error: the insert of REJECTED fails on a constraint, drizzle's error
  // message quotes the statement's parameters, and the subgraph logs it.
  await stack.databases.health!.database.exec(`alter table "health".observations add constraint logs_test_rejects check (value <> ${REJECTED})`);
  failedRecord = await stack.query(RECORD, { input: [{ externalId: 'log-db', type: 'WEIGHT', value: REJECTED, recordedAt: at(2) }] }, token, {
    traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
  });
});

afterAll(async () => {
  await stack?.stop();
});

function lines(): LogLine[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
}

describe('logs', () => {
  it('are JSON lines from every service', () => {
    const services = new Set(lines().map((l) => l.service));
    for (const name of ['gateway', ...Object.keys(stack.subgraphUrls)]) expect(services, name).toContain(name);
  });

  it('carry trace_id, span_id and request_id inside a request', () => {
    expect(codes(failedRecord)).toEqual(['INTERNAL_SERVER_ERROR']);
    const requestId = failedRecord.headers.get('x-request-id');
    const masked = lines().filter((l) => l.service === 'health' && l.msg === 'internal error masked');
    expect(masked).toHaveLength(1);
    const line = masked[0]!;
    // The client's trace continued through the gateway into the subgraph; the request id too.
    expect(line.trace_id).toBe(TRACE_ID);
    expect(line.span_id).toMatch(/^[0-9a-f]{16}$/);
    expect(line.request_id).toBe(requestId);
    // The error itself is there to debug with: the statement, not its values.
    expect(line.err?.message).toMatch(/^Failed query: [\s\S]*insert into "health"\.observations/);
    expect(line.err?.message).toMatch(/params: \[redacted\]/);
  });

  it('contain none of the passwords, tokens or health values the client sent', () => {
    const text = readFileSync(logFile, 'utf8');
    expect(text.length).toBeGreaterThan(0);
    for (const value of sent) {
      expect(value.length).toBeGreaterThan(3);
      expect(text, `log contains ${value.slice(0, 12)}…`).not.toContain(value);
    }
  });
});

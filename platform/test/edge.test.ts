// The HTTP front every service shares, attacked over real sockets: CORS,
// timeouts, the per-address connection cap and where /metrics is served.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APOLLO_STUDIO_ORIGIN } from '../src/http-edge.js';
import { addressKey } from '../src/rate-limit/index.js';
import type { Subgraph } from '../src/subgraph/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';
import { closed, connect, gql, raw, startEdge, type Started } from './edge-helpers.js';

const PRODUCTION = { NODE_ENV: 'production', JWT_JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json', GATEWAY_SECRET: 'edge-test-gateway-secret-0123' };
const METRICS_TOKEN = 'edge-test-metrics-token-0123456789abcdef';
const EVIL = 'https://evil.example';
const APP = 'https://app.suoke.example';

let db: TestDatabase;
const running: Subgraph<object>[] = [];
let dev: Started;

beforeAll(async () => {
  db = await createTestDatabase('edge');
  dev = await startEdge(db, {}, running);
});
afterAll(async () => {
  for (const subgraph of running) await subgraph.stop();
  await db?.drop();
});

const preflight = (origin: string, headers = 'content-type, authorization, apollo-require-preflight, apollographql-client-name, apollographql-client-version') => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
});
const corsHeaders = (headers: Record<string, unknown>) => Object.keys(headers).filter((name) => name.startsWith('access-control-'));

describe('CORS', () => {
  it('answers a preflight from Apollo Studio outside production: methods, headers, max-age, no credentials', async () => {
    const res = await raw(dev.port, preflight(APOLLO_STUDIO_ORIGIN));
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APOLLO_STUDIO_ORIGIN);
    expect(res.headers['access-control-allow-methods']).toMatch(/\bPOST\b/);
    const allowed = String(res.headers['access-control-allow-headers']).split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['content-type', 'authorization', 'apollo-require-preflight', 'apollographql-client-name', 'apollographql-client-version']));
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.vary).toMatch(/Origin/);
  });

  it('grants nothing to an origin not on the list, preflight or not', async () => {
    const pre = await raw(dev.port, preflight(EVIL));
    expect(pre.status).toBe(403);
    expect(corsHeaders(pre.headers)).toEqual([]);
    const post = await raw(dev.port, gql('{ hello }', { origin: EVIL }));
    expect(post.status).toBe(200);
    expect(corsHeaders(post.headers)).toEqual([]);
    const allowed = await raw(dev.port, gql('{ hello }', { origin: APOLLO_STUDIO_ORIGIN }));
    expect(allowed.headers['access-control-allow-origin']).toBe(APOLLO_STUDIO_ORIGIN);
  });

  it('allows no origin at all in production by default, Studio included', async () => {
    const prod = await startEdge(db, PRODUCTION, running);
    const res = await raw(prod.port, preflight(APOLLO_STUDIO_ORIGIN));
    expect(res.status).toBe(403);
    expect(corsHeaders(res.headers)).toEqual([]);
  });

  it('follows CORS_ORIGINS and CORS_CREDENTIALS', async () => {
    const listed = await startEdge(db, { ...PRODUCTION, CORS_ORIGINS: `${APP}, https://admin.suoke.example`, CORS_CREDENTIALS: 'on', CORS_MAX_AGE_S: '60' }, running);
    const res = await raw(listed.port, preflight(APP));
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-max-age']).toBe('60');
    expect(corsHeaders((await raw(listed.port, preflight(APOLLO_STUDIO_ORIGIN))).headers)).toEqual([]);
    // A look-alike is not the origin: exact match only.
    expect(corsHeaders((await raw(listed.port, preflight(`${APP}.evil.example`))).headers)).toEqual([]);
  });

  it('leaves Apollo csrfPrevention in force for an allowed origin: a simple request still does not execute', async () => {
    const textPlain = await raw(dev.port, { method: 'POST', headers: { origin: APOLLO_STUDIO_ORIGIN, 'content-type': 'text/plain' }, body: JSON.stringify({ query: '{ hello }' }) });
    expect(textPlain.status).toBe(400);
    expect(textPlain.body.toString()).not.toContain('world');
    const get = await raw(dev.port, { path: '/graphql?query=%7Bhello%7D', headers: { origin: APOLLO_STUDIO_ORIGIN } });
    expect(get.status).toBe(400);
    const preflighted = await raw(dev.port, { path: '/graphql?query=%7Bhello%7D', headers: { origin: APOLLO_STUDIO_ORIGIN, 'apollo-require-preflight': 'true' } });
    expect(JSON.parse(preflighted.body.toString())).toEqual({ data: { hello: 'world' } });
  });

  it('refuses a malformed CORS_ORIGINS entry at start', async () => {
    await expect(startEdge(db, { CORS_ORIGINS: 'https://app.example/path' }, running)).rejects.toThrow(/CORS_ORIGINS/);
  });
});

describe('timeouts', () => {
  let timed: Started;
  beforeAll(async () => {
    timed = await startEdge(db, { HTTP_HEADERS_TIMEOUT_MS: '400', HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_BODY_TIMEOUT_MS: '600', HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000' }, running);
  });

  it('cuts a client that dribbles its body (HTTP_BODY_TIMEOUT_MS) with 408 before the body is complete', async () => {
    const socket = await connect(timed.port);
    const done = closed(socket);
    socket.write(`POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{`);
    let sent = 1;
    const drip = setInterval(() => {
      if (socket.destroyed || sent >= 99) return;
      socket.write(' ');
      sent += 1;
    }, 100);
    const received = await done;
    clearInterval(drip);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
    expect(received).toContain('REQUEST_TIMEOUT');
    expect(sent).toBeLessThan(99);
  });

  it('closes a connection whose headers do not arrive within HTTP_HEADERS_TIMEOUT_MS', async () => {
    const socket = await connect(timed.port);
    const done = closed(socket);
    socket.write('POST /graphql HTTP/1.1\r\nhost: x\r\n');
    const drip = setInterval(() => !socket.destroyed && socket.write('x'), 100);
    const received = await done;
    clearInterval(drip);
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes an idle keep-alive connection after HTTP_KEEP_ALIVE_TIMEOUT_MS and says so', async () => {
    const socket = await connect(timed.port);
    const done = closed(socket);
    socket.write('GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n');
    const received = await done;
    expect(received).toMatch(/^HTTP\/1\.1 200/);
    expect(received.toLowerCase()).toContain('keep-alive: timeout=1');
  });

  it('refuses a headers timeout longer than the request timeout', async () => {
    await expect(startEdge(db, { HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' }, running)).rejects.toThrow(/HTTP_HEADERS_TIMEOUT_MS/);
  });
});

describe('connections per client address', () => {
  it('closes at once a connection over HTTP_MAX_CONNECTIONS_PER_ADDRESS; other addresses are still served', async () => {
    const capped = await startEdge(db, { HTTP_MAX_CONNECTIONS_PER_ADDRESS: '3' }, running);
    const held = await Promise.all([1, 2, 3].map(() => connect(capped.port, '127.0.0.6')));
    // Accepted by the kernel, then destroyed by the server before it reads a byte.
    const extra = await connect(capped.port, '127.0.0.6');
    const extraClosed = closed(extra);
    extra.write('GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(await extraClosed).toBe('');
    expect(capped.stats.refusedConnections).toBe(1);
    const metrics = await raw(capped.port, { path: '/metrics', localAddress: '127.0.0.7' });
    expect(metrics.body.toString()).toMatch(/^suoke_http_connections_refused_total\{[^}]*\} 1$/m);
    const other = await raw(capped.port, { path: '/health/live', localAddress: '127.0.0.7' });
    expect(other.status).toBe(200);
    // A held connection still works, and a freed slot is reusable.
    const first = held[0]!;
    const answered = closed(first);
    first.write('GET /health/live HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await raw(capped.port, { path: '/health/live', localAddress: '127.0.0.6' })).status).toBe(200);
    for (const socket of held) socket.destroy();
  });

  it('counts IPv6 clients by /64 and IPv4-mapped addresses as IPv4', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'));
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).not.toBe(addressKey('2001:db8:1:2::1'));
    expect(addressKey('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::ffff:127.0.0.5')).toBe('127.0.0.5');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('/metrics exposure', () => {
  const scrape = (port: number, headers: Record<string, string> = {}) => raw(port, { path: '/metrics', headers });

  it('is on the service port in development', async () => {
    const res = await scrape(dev.port);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('suoke_graphql_requests_total');
  });

  it('is not served on the public port in production without METRICS_PORT or METRICS_TOKEN', async () => {
    const prod = await startEdge(db, PRODUCTION, running);
    expect((await scrape(prod.port)).status).toBe(404);
    expect(prod.metricsPort).toBeUndefined();
  });

  it('with METRICS_PORT is served only there; the metrics port serves nothing else', async () => {
    const separate = await startEdge(db, { ...PRODUCTION, METRICS_PORT: '0' }, running);
    expect(separate.metricsPort).toBeGreaterThan(0);
    expect(separate.metricsPort).not.toBe(separate.port);
    expect((await scrape(separate.port)).status).toBe(404);
    const res = await scrape(separate.metricsPort!);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('service="edge-test"');
    expect((await raw(separate.metricsPort!, gql('{ hello }'))).status).toBe(404);
  });

  it('with METRICS_TOKEN requires it as a bearer token', async () => {
    const tokened = await startEdge(db, { ...PRODUCTION, METRICS_TOKEN }, running);
    expect((await scrape(tokened.port)).status).toBe(401);
    expect((await scrape(tokened.port, { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}` })).status).toBe(401);
    expect((await scrape(tokened.port, { authorization: `Bearer ${METRICS_TOKEN}x` })).status).toBe(401);
    expect((await scrape(tokened.port, { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(200);
  });
});

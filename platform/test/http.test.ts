import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createSubgraph, GATEWAY_SECRET_HEADER, subgraphEnv, type Subgraph } from '../src/subgraph/index.js';
import { createTestDatabase, testToken, type TestDatabase } from '../src/testing.js';

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query {
    hello: String
    whoami: String
    boom: String
  }
`);

const SECRET_DETAIL = 'connection to 10.0.0.5:5432 refused, password=hunter2';
const resolvers = {
  Query: {
    hello: () => 'world',
    whoami: (_p: unknown, _a: unknown, ctx: { user?: { id: string } }) => ctx.user?.id ?? null,
    boom: () => {
      throw new Error(SECRET_DETAIL);
    },
  },
};

const MAX_BODY_BYTES = 2048;
const GATEWAY_SECRET = 'gateway-secret-for-tests-0123456789';
const log = createLogger({ service: 'http-test', level: 'silent', format: 'json' });

let testDb: TestDatabase;
const started: Subgraph<object>[] = [];

async function start(extraEnv: Record<string, string> = {}): Promise<string> {
  const config = loadConfig('http-test', subgraphEnv(0), { NODE_ENV: 'test', LOG_LEVEL: 'silent', MAX_BODY_BYTES: String(MAX_BODY_BYTES), ...extraEnv });
  const subgraph = createSubgraph({ name: 'http-test', typeDefs, resolvers, config, database: testDb.database, createLoaders: () => ({}), log });
  started.push(subgraph);
  const { port } = await subgraph.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${port}`;
}

let base: string;
let guarded: string;

beforeAll(async () => {
  testDb = await createTestDatabase('http');
  base = await start();
  guarded = await start({ GATEWAY_SECRET });
});

afterAll(async () => {
  for (const subgraph of started) await subgraph.stop();
  await testDb?.drop();
});

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

interface GqlBody {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

describe('health endpoints', () => {
  it('answers /health/live with 200', async () => {
    const res = await fetch(`${base}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /health/ready with 200 when the database answers', async () => {
    const res = await fetch(`${base}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });
  });

  it('does not require the gateway secret for probes', async () => {
    expect((await fetch(`${guarded}/health/live`)).status).toBe(200);
  });

  it('answers an unknown path with 404', async () => {
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe('POST /graphql', () => {
  it('executes an operation', async () => {
    const res = await post(base, JSON.stringify({ query: '{ hello }' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { hello: 'world' } });
  });

  it('echoes a well-formed x-request-id and replaces a malformed one', async () => {
    const good = await post(base, JSON.stringify({ query: '{ hello }' }), { 'x-request-id': 'req-123' });
    expect(good.headers.get('x-request-id')).toBe('req-123');
    const bad = await post(base, JSON.stringify({ query: '{ hello }' }), { 'x-request-id': 'bad id with spaces' });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a body over MAX_BODY_BYTES with 413', async () => {
    const body = JSON.stringify({ query: `{ hello }\n#${'x'.repeat(MAX_BODY_BYTES)}` });
    const res = await post(base, body);
    expect(res.status).toBe(413);
    expect(((await res.json()) as GqlBody).errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses a streamed (chunked) body that grows over MAX_BODY_BYTES with 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 4) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('refuses a body that is not valid JSON with 400', async () => {
    const res = await post(base, '{"query": "{ hello }"');
    expect(res.status).toBe(400);
    expect(((await res.json()) as GqlBody).errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('refuses a batched (array) request', async () => {
    const res = await post(base, JSON.stringify([{ query: '{ hello }' }, { query: '{ hello }' }]));
    expect(res.status).not.toBe(200);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(await res.text())).not.toContain('world');
  });

  it('answers a bad bearer token with 401 UNAUTHENTICATED before execution', async () => {
    const res = await post(base, JSON.stringify({ query: '{ hello }' }), { authorization: 'Bearer not-a-jwt' });
    expect(res.status).toBe(401);
    const body = (await res.json()) as GqlBody;
    expect(body.data ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers an expired token with 401 UNAUTHENTICATED', async () => {
    const res = await post(base, JSON.stringify({ query: '{ hello }' }), { authorization: `Bearer ${await testToken({ id: 'u-1' }, { ttlSeconds: -60 })}` });
    expect(res.status).toBe(401);
    expect(((await res.json()) as GqlBody).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('passes the verified user to resolvers', async () => {
    const res = await post(base, JSON.stringify({ query: '{ whoami }' }), { authorization: `Bearer ${await testToken({ id: 'u-99' })}` });
    expect(await res.json()).toEqual({ data: { whoami: 'u-99' } });
    const anon = await post(base, JSON.stringify({ query: '{ whoami }' }));
    expect(await anon.json()).toEqual({ data: { whoami: null } });
  });

  it('masks a plain Error thrown by a resolver: generic message, no stack, no original message', async () => {
    const res = await post(base, JSON.stringify({ query: '{ hello boom }' }));
    const text = await res.text();
    expect(text).toContain('Internal server error');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('10.0.0.5');
    expect(text).not.toMatch(/stacktrace|\bat .*\.ts:\d+/);
    const body = JSON.parse(text) as GqlBody;
    expect(body.data).toEqual({ hello: 'world', boom: null });
    expect(body.errors).toEqual([{ message: 'Internal server error', locations: [{ line: 1, column: 9 }], path: ['boom'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
  });
});

describe('gateway secret', () => {
  const query = JSON.stringify({ query: '{ hello }' });

  it('refuses a request without the x-gateway-secret header with 401', async () => {
    const res = await post(guarded, query);
    expect(res.status).toBe(401);
    expect(((await res.json()) as GqlBody).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a wrong secret, including a prefix of the right one', async () => {
    expect((await post(guarded, query, { [GATEWAY_SECRET_HEADER]: 'gateway-secret-for-tests-XXXXXXXXXX' })).status).toBe(401);
    expect((await post(guarded, query, { [GATEWAY_SECRET_HEADER]: GATEWAY_SECRET.slice(0, -1) })).status).toBe(401);
  });

  it('accepts a request carrying the secret', async () => {
    const res = await post(guarded, query, { [GATEWAY_SECRET_HEADER]: GATEWAY_SECRET });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { hello: 'world' } });
  });
});

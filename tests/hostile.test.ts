import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testJwt } from '@suoke/platform/testing';
import { createGateway, loadGatewayConfig } from '../gateway/src/server.js';
import { readSupergraphConfig } from '../scripts/supergraph-config.mjs';
import { codes, post, repoRoot, startStack, type GraphQLResponse, type Stack } from './harness.js';

// The defaults, as an operator who sets nothing gets them.
const limits = loadGatewayConfig({});
const MAX_BODY_BYTES = 16_384;

/** What a refusal may say: the limit and the value, never how the service is built. */
const INTERNALS = /subgraph|serviceName|https?:\/\/|127\.0\.0\.1|localhost|\.[jt]s:\d|\n\s+at |select |insert |postgres|drizzle|armor|apollo|Syntax Error/i;

/** Each shape over exactly one default limit, with the message that names it. */
const hostile: { shape: string; query: string; variables?: Record<string, unknown>; message: RegExp }[] = [
  {
    shape: `depth ${limits.QUERY_MAX_DEPTH + 1}`,
    query: `{ users(first: 1) { edges { node { conversations(first: 1) { edges { node { messages(first: 1) { edges { node {
      citations { ... on Syndrome { relatedConstitutions { advice { diet } } } } } } } } } } } } } }`,
    message: new RegExp(`depth limit of ${limits.QUERY_MAX_DEPTH} exceeded, found ${limits.QUERY_MAX_DEPTH + 1}`),
  },
  {
    shape: `${limits.QUERY_MAX_ALIASES + 1} aliases`,
    query: `{ ${Array.from({ length: limits.QUERY_MAX_ALIASES + 1 }, (_, i) => `a${i}: me { id }`).join(' ')} }`,
    message: new RegExp(`Aliases limit of ${limits.QUERY_MAX_ALIASES} exceeded, found ${limits.QUERY_MAX_ALIASES + 1}`),
  },
  {
    shape: `${limits.QUERY_MAX_DIRECTIVES + 1} directives`,
    query: `{ me { ${'id @include(if: true) '.repeat(limits.QUERY_MAX_DIRECTIVES + 1)} } }`,
    message: new RegExp(`Directives limit of ${limits.QUERY_MAX_DIRECTIVES} exceeded, found ${limits.QUERY_MAX_DIRECTIVES + 1}`),
  },
  {
    shape: `${limits.QUERY_MAX_TOKENS}+ tokens`,
    query: `{ me { ${'id '.repeat(limits.QUERY_MAX_TOKENS)} } }`,
    message: new RegExp(`^Token limit of ${limits.QUERY_MAX_TOKENS} exceeded$`),
  },
  {
    shape: 'cost: nested connections, literal first',
    query: '{ users(first: 100) { edges { node { conversations(first: 100) { edges { node { id } } } } } } }',
    message: new RegExp(`cost limit of ${limits.QUERY_MAX_COST} exceeded, found 30301`),
  },
  {
    shape: 'cost: nested connections, first from variables',
    query: 'query($n: Int, $m: Int) { users(first: $n) { edges { node { conversations(first: $m) { edges { node { id } } } } } } }',
    variables: { n: 100, m: 100 },
    message: new RegExp(`cost limit of ${limits.QUERY_MAX_COST} exceeded, found 30301`),
  },
  {
    shape: 'cost: lists without first',
    query: '{ constitutions { relatedSyndromes { relatedConstitutions { relatedSyndromes { name } } } } }',
    message: new RegExp(`cost limit of ${limits.QUERY_MAX_COST} exceeded`),
  },
  {
    shape: 'cost: fragment bomb',
    query: `{ ...F0 } ${Array.from({ length: 16 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F16 on Query { constitutions { code } }`,
    message: new RegExp(`cost limit of ${limits.QUERY_MAX_COST} exceeded`),
  },
  {
    shape: 'first literal',
    query: `{ herbs(first: ${limits.QUERY_MAX_FIRST + 1}) { edges { node { id } } } }`,
    message: new RegExp(`first must be at most ${limits.QUERY_MAX_FIRST}; received ${limits.QUERY_MAX_FIRST + 1}`),
  },
  {
    shape: 'first variable',
    query: 'query($n: Int) { herbs(first: $n) { edges { node { id } } } }',
    variables: { n: 1000 },
    message: new RegExp(`first \\(variable \\$n\\) must be at most ${limits.QUERY_MAX_FIRST}; received 1000`),
  },
  {
    shape: 'first variable default',
    query: 'query($n: Int = 500) { herbs(first: $n) { edges { node { id } } } }',
    message: new RegExp(`first must be at most ${limits.QUERY_MAX_FIRST}; received 500`),
  },
];

function expectRefusedByLimit(response: GraphQLResponse<unknown>, message: RegExp) {
  expect(response.status).toBe(400);
  expect(response.data ?? null).toBeNull();
  expect(codes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  expect(response.errors?.[0]?.message).toMatch(message);
  expect(response.errors?.[0]?.message).not.toMatch(INTERNALS);
}

describe('hostile operations through the gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ gatewayEnv: { MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers an ordinary operation (the fetch counter moves when the gateway does fetch)', async () => {
    const before = stack.subgraphFetches();
    const response = await stack.query('query($n: Int) { me { id } herbs(first: $n) { edges { node { name } } } }', { n: 5 });
    expect(response.errors).toBeUndefined();
    expect(response.data?.herbs.edges).toHaveLength(5);
    expect(stack.subgraphFetches()).toBeGreaterThan(before);
  });

  it.each(hostile)('refuses $shape with GRAPHQL_VALIDATION_FAILED and 0 subgraph fetches', async ({ query, variables, message }) => {
    const before = stack.subgraphFetches();
    const response = await stack.query(query, variables);
    expectRefusedByLimit(response, message);
    expect(stack.subgraphFetches() - before).toBe(0);
  });

  it('weighs `first` from variables per request: the same document with small values runs', async () => {
    const query = 'query($n: Int, $m: Int) { users(first: $n) { edges { node { conversations(first: $m) { edges { node { id } } } } } } }';
    const before = stack.subgraphFetches();
    const small = await stack.query(query, { n: 5, m: 5 });
    // Anonymous: refused by the user subgraph, so it was planned and fetched.
    expect(codes(small)).toEqual(['UNAUTHENTICATED']);
    expect(stack.subgraphFetches()).toBeGreaterThan(before);
    const large = await stack.query(query, { n: 100, m: 100 });
    expect(codes(large)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  it('answers the limit, not the rate limit, when the rate limiter counts the same operation', async () => {
    // login allows 5 a minute per IP; the gateway counts it in the same hook phase as the `first` check.
    const ip = { 'x-forwarded-for': '2001:db8::8:1' };
    const login = 'mutation($n: Int) { login(input: { email: "nobody@example.com", password: "wrong-password-123" }) { user { conversations(first: $n) { edges { node { id } } } } } }';
    for (let i = 0; i < 7; i += 1) {
      const response = await stack.query(login, { n: 1000 }, undefined, ip);
      expect(response.status).toBe(400);
      expect(codes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    }
    // Refused operations still spent the caller's budget, as failed variable coercion does.
    expect(codes(await stack.query(login, { n: 1 }, undefined, ip))).toEqual(['RATE_LIMITED']);
  });

  it('answers an operationName that names no operation with 400, not 500 (found by tests/fuzz.test.ts)', async () => {
    const before = stack.subgraphFetches();
    const cases = [
      { body: { query: 'query Home { me { id } }', operationName: '' }, message: 'Unknown operation named "".' },
      { body: { query: 'query Home { me { id } }', operationName: 'Other' }, message: 'Unknown operation named "Other".' },
      { body: { query: 'query A { me { id } } query B { me { id } }' }, message: 'Must provide operation name if query contains multiple operations.' },
    ];
    for (const { body, message } of cases) {
      const response = await post(stack.gatewayUrl, body);
      expect(response.status).toBe(400);
      expect(codes(response)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
      expect(response.errors?.[0]?.message).toBe(message);
    }
    expect(stack.subgraphFetches() - before).toBe(0);
  });

  it('refuses batched HTTP arrays before any fetch', async () => {
    const before = stack.subgraphFetches();
    const response = await post(stack.gatewayUrl, [{ query: '{ me { id } }' }, { query: '{ me { id } }' }]);
    expect(response.status).toBe(400);
    expect(stack.subgraphFetches() - before).toBe(0);
  });

  it('keeps CSRF prevention on: a simple GET or form post without a preflight header is refused', async () => {
    const before = stack.subgraphFetches();
    const get = await fetch(`${stack.gatewayUrl}?query=${encodeURIComponent('{ me { id } }')}`);
    expect(get.status).toBe(400);
    expect(await get.text()).toMatch(/Cross-Site Request Forgery/);
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const form = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': contentType }, body: JSON.stringify({ query: '{ me { id } }' }) });
      expect(form.status, contentType).toBe(400);
    }
    expect(stack.subgraphFetches() - before).toBe(0);
    // With the header a browser cannot send without a preflight, the same GET runs.
    const preflighted = await fetch(`${stack.gatewayUrl}?query=${encodeURIComponent('{ me { id } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(preflighted.status).toBe(200);
    expect(await preflighted.json()).toEqual({ data: { me: null } });
  });

  it('refuses a mutation over GET with 405', async () => {
    const before = stack.subgraphFetches();
    const query = 'mutation { logout(refreshToken: "x") }';
    const response = await fetch(`${stack.gatewayUrl}?query=${encodeURIComponent(query)}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(stack.subgraphFetches() - before).toBe(0);
  });

  it(`answers a body over the configured MAX_BODY_BYTES (${MAX_BODY_BYTES}) with 413 and no fetch; one at the limit runs`, async () => {
    const body = (size: number) => {
      const base = JSON.stringify({ query: '{ me { id } }', variables: { pad: '' } });
      return JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(size - base.length) } });
    };
    const before = stack.subgraphFetches();
    const over = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(MAX_BODY_BYTES + 1) });
    expect(over.status).toBe(413);
    expect(stack.subgraphFetches() - before).toBe(0);
    const at = await fetch(stack.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(MAX_BODY_BYTES) });
    expect(at.status).toBe(200);
  });

  it('suggests field names outside production (Sandbox users want them)', async () => {
    const response = await stack.query('{ mee { id } }');
    expect(response.errors?.[0]?.message).toMatch(/Did you mean "me"\?/);
  });

  describe('input a subgraph refuses: BAD_USER_INPUT through the gateway, nothing stored', () => {
    const RECORD = 'mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted duplicates } }';
    let token: string;
    let userId: string;
    const at = new Date(Date.now() - 3_600_000).toISOString();
    const stored = async () => {
      const rows = await stack.databases.health!.database.rows<{ n: number }>(sql`select count(*)::int as n from health.observations where user_id = ${userId}`);
      return rows[0]!.n;
    };

    beforeAll(async () => {
      const registered = await stack.query(
        'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
        { input: { email: 'nul.tester@example.com', password: 'correct-horse-battery', displayName: 'NUL' } },
      );
      expect(registered.errors).toBeUndefined();
      token = registered.data?.register.accessToken;
      userId = registered.data?.register.user.id;
    });

    it.each([
      ['source in a variable', { input: [{ externalId: 'nul-ok', type: 'STEPS', value: 10, recordedAt: at }, { externalId: 'nul-2', type: 'STEPS', value: 20, recordedAt: at, source: 'watch\u0000' }] }, /NUL character \(U\+0000\); received one in \$input\[1\]\.source/],
      ['externalId in a variable', { input: [{ externalId: 'nul\u0000', type: 'STEPS', value: 10, recordedAt: at }] }, /received one in \$input\[0\]\.externalId/],
    ])('U+0000 in %s: BAD_USER_INPUT, not INTERNAL, and no observation stored', async (_case, variables, message) => {
      const response = await stack.query(RECORD, variables, token);
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.message).toMatch(message);
      expect(response.errors![0]!.message).not.toMatch(INTERNALS);
      expect(response.data?.recordObservations ?? null).toBeNull();
      expect(await stored()).toBe(0);
    });

    it('U+0000 in a literal argument is refused the same way', async () => {
      const response = await stack.query(`mutation { recordObservations(input: [{ externalId: "lit\\u0000", type: STEPS, value: 1, recordedAt: "${at}" }]) { inserted } }`, {}, token);
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.message).toMatch(/received one in recordObservations\.input\[0\]\.externalId/);
      expect(await stored()).toBe(0);
    });

    it('a DateTime variable sent as "" (opaque to the gateway, refused by the subgraph with HTTP 400) is BAD_USER_INPUT with a clear message', async () => {
      const response = await stack.query(RECORD, { input: [{ externalId: 'dt-1', type: 'STEPS', value: 10, recordedAt: '' }] }, token);
      expect(response.status).toBe(200);
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.message).toMatch(/recordedAt.*DateTime|DateTime.*recordedAt/);
      expect(response.errors![0]!.message).not.toMatch(INTERNALS);
      expect(JSON.stringify(response)).not.toMatch(/stacktrace|serviceName|127\.0\.0\.1/);
      expect(await stored()).toBe(0);
    });

    it('the same batches without the bad values are stored (the checks above can fail)', async () => {
      const response = await stack.query(RECORD, { input: [{ externalId: 'fine-1', type: 'STEPS', value: 10, recordedAt: at, source: 'watch' }] }, token);
      expect(response.errors).toBeUndefined();
      expect(response.data?.recordObservations).toEqual({ inserted: 1, duplicates: 0 });
      expect(await stored()).toBe(1);
    });
  });
});

/**
 * A production gateway in front of a stub that counts what reaches it: every
 * check here is decided before planning, so no subgraph is needed.
 */
describe('gateway with NODE_ENV=production', () => {
  let stub: Server;
  let hits = 0;
  let gateway: ReturnType<typeof createGateway>;
  let url: string;
  const query = (q: string, variables?: Record<string, unknown>) => post<Record<string, unknown>>(url, { query: q, variables });

  beforeAll(async () => {
    stub = createServer((_req, res) => {
      hits += 1;
      res.writeHead(503).end();
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/graphql`;
    const names: string[] = readSupergraphConfig().subgraphs.map((s: { name: string }) => s.name);
    gateway = createGateway({
      config: loadGatewayConfig({
        // Not about field usage (tests/usage.test.ts): no store, and never the repository's .data/gateway-usage.
        USAGE_RECORDING: 'off',
        NODE_ENV: 'production',
        LOG_LEVEL: 'silent',
        JWT_JWKS: JSON.stringify(testJwt.jwks),
        GATEWAY_SECRET: 'a-gateway-secret-for-tests-only',
        SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
      }),
      subgraphUrls: Object.fromEntries(names.map((name) => [name, stubUrl])),
    });
    url = (await gateway.listen(0, '127.0.0.1')).url;
  });
  afterAll(async () => {
    await gateway?.stop();
    await new Promise((resolve) => stub?.close(resolve));
  });

  it('gives no "Did you mean" suggestions for fields, arguments, types or enum values', async () => {
    const responses = await Promise.all([
      query('{ mee { id } }'),
      query('{ herbs(frist: 1) { edges { node { id } } } }'),
      query('query($t: Strin) { me { id } }'),
      query('{ me { observations(type: HEART_RAT) { edges { node { id } } } } }'),
      // Variable values are coerced by the gateway before planning.
      query('query($t: ObservationType) { me { observations(type: $t) { edges { node { id } } } } }', { t: 'HEART_RAT' }),
    ]);
    const messages = responses.flatMap((r) => (r.errors ?? []).map((e) => e.message));
    expect(messages).toEqual([
      'Cannot query field "mee" on type "Query".',
      'Unknown argument "frist" on field "Query.herbs".',
      'Unknown type "Strin".',
      'Variable "$t" is never used.',
      'Value "HEART_RAT" does not exist in "ObservationType" enum.',
      'Variable "$t" got invalid value "HEART_RAT"; Value "HEART_RAT" does not exist in "ObservationType" enum.',
    ]);
    for (const message of messages) {
      expect(message).not.toMatch(/Did you mean|HEART_RATE|"me"|"first"|"String"/);
    }
    expect(hits).toBe(0);
  });

  it('refuses introspection by __schema and __type, without telling how to turn it on', async () => {
    for (const q of ['{ __schema { types { name } } }', '{ __type(name: "User") { fields { name } } }']) {
      const response = await query(q);
      expect(response.status).toBe(400);
      expect(codes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(response.errors?.[0]?.message).toBe('Introspection is disabled');
    }
    expect(hits).toBe(0);
  });

  it('serves no landing page: a browser gets no HTML', async () => {
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type') ?? '').not.toMatch(/html/);
    expect(await page.text()).not.toMatch(/<html|<script/i);
  });

  it('applies the same operation limits', async () => {
    const response = await query(`{ herbs(first: ${limits.QUERY_MAX_FIRST + 1}) { edges { node { id } } } }`);
    expectRefusedByLimit(response, /first must be at most/);
    expect(hits).toBe(0);
  });
});

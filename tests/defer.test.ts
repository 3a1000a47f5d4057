import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { Defer20220824Handler } from '@apollo/client/incremental';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomClientIp, startStack, type Stack } from './harness.js';

/**
 * @defer through the whole stack: the gateway answers `multipart/mixed;
 * deferSpec=20220824` to a client that accepts it, the initial payload first,
 * each deferred fragment after, as its fetches return. The diagnosis subgraph
 * sits behind a small proxy that the tests slow down (1.5 s) or make fail, and
 * that records when it let each answer go, so that "the initial payload did
 * not wait" is an order of arrival, not a time budget.
 */
const DEFER_ACCEPT = 'multipart/mixed;deferSpec=20220824,application/json';
const SLOW_MS = 1_500;

type Mode = 'pass' | 'slow' | 'fail' | 'leak';
interface Proxy {
  url: string;
  target: string;
  mode: Mode;
  /** What happened, in order: the test's own marks and the proxy's `released` (an answer sent to the gateway). */
  events: string[];
  close(): Promise<void>;
}

/** A proxy in front of one subgraph: forwards as is, or slowed, or failing with a 502, or with an internal error's details in the answer. */
async function startProxy(events: string[]): Promise<Proxy> {
  const proxy = { target: '', mode: 'pass' as Mode, events } as Proxy;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const mode = req.method === 'POST' && body.includes('_entities') ? proxy.mode : 'pass';
      if (mode === 'fail') {
        res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
        events.push('released');
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name))) as Record<string, string>;
      const upstream = await fetch(new URL(req.url ?? '/', proxy.target), { method: req.method, headers, ...(req.method === 'POST' ? { body } : {}) });
      let text = await upstream.text();
      if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
      if (mode === 'leak') {
        const parsed = JSON.parse(text) as { data?: { _entities?: unknown[] } };
        const count = parsed.data?._entities?.length ?? 1;
        text = JSON.stringify({
          data: { _entities: Array.from({ length: count }, () => null) },
          errors: [{ message: 'relation "reports_secret" does not exist: SELECT * FROM reports_secret', path: ['_entities', 0], extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
        });
      }
      if (mode !== 'pass') events.push('released');
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  proxy.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return proxy;
}

interface Part {
  data?: Record<string, any> | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  incremental?: { data: Record<string, any> | null; path: (string | number)[]; label?: string; errors?: Part['errors'] }[];
  hasNext?: boolean;
}

/** POSTs with a raw fetch and reads the multipart body part by part as it arrives; `onPart` sees each one at once. */
async function multipart(url: string, body: unknown, token: string, onPart: (part: Part) => void = () => {}) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: DEFER_ACCEPT, authorization: `Bearer ${token}`, 'x-forwarded-for': randomClientIp() },
    body: JSON.stringify(body),
  });
  const contentType = response.headers.get('content-type') ?? '';
  const parts: Part[] = [];
  if (!contentType.startsWith('multipart/mixed')) return { status: response.status, contentType, parts, json: (await response.json()) as Part };
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = response.body!.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    // Each part: headers, a blank line, one line of JSON, then the boundary.
    for (let match = /\r\n\r\n(.*?)\r\n---/s.exec(buffer); match; match = /\r\n\r\n(.*?)\r\n---/s.exec(buffer)) {
      const part = JSON.parse(match[1]!) as Part;
      parts.push(part);
      onPart(part);
      buffer = buffer.slice(match.index + match[0].length);
    }
  }
  return { status: response.status, contentType, parts, json: undefined };
}

const HOME = `query Home {
  me {
    displayName
    ... @defer(label: "slow") {
      latestReport { id status }
      conversations(first: 5) { edges { node { id agent { id } } } }
    }
  }
}`;

let stack: Stack;
let proxy: Proxy;
let token: string;
const events: string[] = [];

beforeAll(async () => {
  proxy = await startProxy(events);
  stack = await startStack({ gatewaySubgraphUrls: { diagnosis: proxy.url } });
  proxy.target = stack.subgraphUrls.diagnosis!;
  const registered = await stack.query('mutation($input: RegisterInput!) { register(input: $input) { accessToken } }', {
    input: { email: `defer-${Date.now()}@example.com`, password: 'deferred-home-2026', displayName: '韩梅梅' },
  });
  token = registered.data?.register.accessToken;
  expect(token).toBeTruthy();
  // Two conversations: list items carry their own paths.
  for (const agentId of ['laoke', 'soer']) {
    const sent = await stack.query('mutation($input: SendMessageInput!) { sendMessage(input: $input) { conversation { id } } }', { input: { agentId, text: '你好' } }, token);
    expect(sent.errors).toBeUndefined();
  }
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
});
beforeEach(() => {
  proxy.mode = 'pass';
  events.length = 0;
});

describe('@defer through the gateway (multipart/mixed; deferSpec=20220824)', () => {
  it('sends displayName first, before the slowed subgraph answers, then the deferred fragment at its path with its label', async () => {
    proxy.mode = 'slow';
    const result = await multipart(stack.gatewayUrl, { query: HOME }, token, (part) => events.push(part.hasNext ? 'initial' : 'last'));
    expect(result.status).toBe(200);
    expect(result.contentType).toMatch(/^multipart\/mixed;.*deferSpec=20220824/);
    const [initial, ...rest] = result.parts;
    expect(initial).toEqual({ data: { me: { displayName: '韩梅梅' } }, hasNext: true });
    expect(rest.at(-1)?.hasNext).toBe(false);
    const items = rest.flatMap((part) => part.incremental ?? []);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ path: ['me'], label: 'slow', data: { latestReport: null } });
    expect(items[0]!.errors).toBeUndefined();
    expect(items[0]!.data!.conversations.edges).toHaveLength(2);
    // The initial payload arrived while the diagnosis answer was held back.
    expect(events).toEqual(['initial', 'released', 'last']);
  });

  it('a client that does not accept multipart gets the whole result at once, as one JSON', async () => {
    const response = await stack.query(HOME, {}, token);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    expect(response.errors).toBeUndefined();
    expect(response.data?.me.displayName).toBe('韩梅梅');
    expect(response.data?.me.latestReport).toBeNull();
    expect(response.data?.me.conversations.edges).toHaveLength(2);
  });

  it('each list item gets its own payload entry with its own path', async () => {
    const query = `{ me { conversations(first: 5) { edges { node { id ... @defer(label: "messages") { messages(first: 5) { edges { node { role text } } } } } } } } }`;
    const { parts } = await multipart(stack.gatewayUrl, { query }, token);
    const ids = parts[0]!.data!.me.conversations.edges.map((edge: { node: { id: string } }) => edge.node.id);
    expect(ids).toHaveLength(2);
    expect(parts[0]!.data!.me.conversations.edges[0].node.messages).toBeUndefined();
    const items = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(items.map((item) => item.path).sort()).toEqual([
      ['me', 'conversations', 'edges', 0, 'node'],
      ['me', 'conversations', 'edges', 1, 'node'],
    ]);
    for (const item of items) {
      expect(item.label).toBe('messages');
      expect(item.data!.messages.edges.map((edge: { node: { role: string } }) => edge.node.role).sort()).toEqual(['AGENT', 'USER']);
    }
  });

  it('nested defers: the outer fragment first, then the inner one under each of its list items', async () => {
    const query = `{ me { displayName ... @defer(label: "outer") { conversations(first: 5) { edges { node { id ... @defer(label: "inner") { agent { id name } } } } } } } }`;
    const { parts } = await multipart(stack.gatewayUrl, { query }, token);
    expect(parts[0]!.data).toEqual({ me: { displayName: '韩梅梅' } });
    const items = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(items.map((item) => item.label)).toEqual(['outer', 'inner', 'inner']);
    expect(items[0]).toMatchObject({ path: ['me'] });
    expect(items[0]!.data!.conversations.edges.map((edge: { node: { agent?: unknown } }) => edge.node.agent)).toEqual([undefined, undefined]);
    expect(items.slice(1).map((item) => item.path).sort()).toEqual([
      ['me', 'conversations', 'edges', 0, 'node'],
      ['me', 'conversations', 'edges', 1, 'node'],
    ]);
    expect(items.slice(1).map((item) => item.data!.agent.id).sort()).toEqual(['laoke', 'soer']);
    expect(parts.at(-1)!.hasNext).toBe(false);
  });

  it('with every field deferred, the initial payload holds the empty objects the parts are merged into', async () => {
    const root = await multipart(stack.gatewayUrl, { query: '{ ... @defer(label: "all") { me { displayName } } }' }, token);
    expect(root.parts).toEqual([{ data: {}, hasNext: true }, { incremental: [{ data: { me: { displayName: '韩梅梅' } }, path: [], label: 'all' }], hasNext: false }]);
    const split = await multipart(stack.gatewayUrl, { query: '{ me { ... @defer(label: "a") { displayName } ... @defer(label: "b") { locale } } }' }, token);
    expect(split.parts[0]).toEqual({ data: { me: {} }, hasNext: true });
    const items = split.parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(items.sort((x, y) => x.label!.localeCompare(y.label!))).toEqual([
      { data: { displayName: '韩梅梅' }, path: ['me'], label: 'a' },
      { data: { locale: expect.any(String) }, path: ['me'], label: 'b' },
    ]);
  });

  it('an error in a deferred part belongs to that part, at its path, never to the initial payload', async () => {
    proxy.mode = 'fail';
    const { parts } = await multipart(stack.gatewayUrl, { query: HOME }, token);
    expect(parts[0]).toEqual({ data: { me: { displayName: '韩梅梅' } }, hasNext: true });
    const items = parts.slice(1).flatMap((part) => part.incremental ?? []);
    expect(items).toHaveLength(1);
    expect(items[0]!.data!.latestReport).toBeNull();
    // The other subgraph's share of the same fragment is there.
    expect(items[0]!.data!.conversations.edges).toHaveLength(2);
    expect(items[0]!.errors?.map((e) => [e.extensions?.code, e.path])).toEqual([['SERVICE_UNAVAILABLE', ['me', 'latestReport']]]);
  });

  it('errors of deferred parts are masked like any other', async () => {
    proxy.mode = 'leak';
    const { parts } = await multipart(stack.gatewayUrl, { query: HOME }, token);
    const text = JSON.stringify(parts);
    expect(text).not.toContain('reports_secret');
    expect(text).not.toContain('SELECT');
    const errors = parts.slice(1).flatMap((part) => (part.incremental ?? []).flatMap((item) => item.errors ?? []));
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(parts[0]!.errors).toBeUndefined();
  });

  it('governance holds: operation limits refuse a deferred operation before planning', async () => {
    const fragments = Array.from({ length: 11 }, (_, i) => `... @defer(label: "d${i}") { displayName }`).join(' ');
    const result = await multipart(stack.gatewayUrl, { query: `{ me { id ${fragments} } }` }, token);
    expect(result.status).toBe(400);
    expect(result.parts).toEqual([]);
    expect(result.json?.errors?.[0]).toMatchObject({ message: expect.stringMatching(/^Directives limit of 10 exceeded/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
  });

  it('variables are checked as for any operation: a wrong type is BAD_USER_INPUT, nothing streamed', async () => {
    const query = 'query($n: Int) { me { displayName ... @defer { conversations(first: $n) { edges { cursor } } } } }';
    const result = await multipart(stack.gatewayUrl, { query, variables: { n: 'many' } }, token);
    expect(result.status).toBe(400);
    expect(result.json?.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const good = await multipart(stack.gatewayUrl, { query, variables: { n: 1 } }, token);
    expect(good.parts.flatMap((part) => part.incremental ?? [])[0]?.data?.conversations.edges).toHaveLength(1);
  });

  it('@defer(if: false) answers as one result', async () => {
    const result = await multipart(stack.gatewayUrl, { query: '{ me { displayName ... @defer(if: false) { locale } } }' }, token);
    expect(result.json).toEqual({ data: { me: { displayName: '韩梅梅', locale: expect.any(String) } } });
  });
});

describe('Apollo Client 4 with @defer', () => {
  it('renders the initial payload (streaming) before the slowed subgraph answers, then the complete result', async () => {
    proxy.mode = 'slow';
    const client = new ApolloClient({
      link: new HttpLink({ uri: stack.gatewayUrl, headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': randomClientIp() } }),
      cache: new InMemoryCache(),
      incrementalHandler: new Defer20220824Handler(),
    });
    const seen: { dataState: string; data: any }[] = [];
    await new Promise<void>((resolve, reject) => {
      const subscription = client.watchQuery({ query: gql(HOME), fetchPolicy: 'network-only' }).subscribe({
        next(result) {
          if (result.dataState === 'empty') return;
          seen.push({ dataState: result.dataState, data: result.data });
          events.push(result.dataState);
          if (result.dataState === 'complete') {
            subscription.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    client.stop();
    expect(events).toEqual(['streaming', 'released', 'complete']);
    expect(seen[0]!.data.me.displayName).toBe('韩梅梅');
    expect(seen[0]!.data.me.conversations).toBeUndefined();
    expect(seen[1]!.data.me.latestReport).toBeNull();
    expect(seen[1]!.data.me.conversations.edges).toHaveLength(2);
  });
});

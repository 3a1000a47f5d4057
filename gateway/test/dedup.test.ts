import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@suoke/platform';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RETRY_SAFE_HEADER, SubgraphClient, SubgraphFetchError, type SubgraphClientSettings } from '../src/fetcher.js';

const log = createLogger({ service: 'dedup-test', level: 'silent' });

const settings = (overrides: Partial<SubgraphClientSettings> = {}): SubgraphClientSettings => ({
  timeoutMs: 2_000,
  maxInFlight: 100,
  connections: 8,
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 100, windowMs: 10_000, resetTimeoutMs: 1_000 },
  ejectBaseMs: 60_000,
  ejectMaxMs: 60_000,
  readinessIntervalMs: 0,
  deduplicate: true,
  ...overrides,
});

/** A subgraph that answers after `delayMs` with a body naming the request number; `mode` may make it fail. */
const server = {
  url: '',
  hits: 0,
  headers: [] as IncomingHttpHeaders[],
  delayMs: 150,
  mode: 'ok' as 'ok' | 'reset',
  close: async () => undefined as void,
};

beforeAll(async () => {
  const http = createServer((req, res) => {
    server.hits += 1;
    const n = server.hits;
    server.headers.push(req.headers);
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        if (server.mode === 'reset') return void req.socket.destroy();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: { n } }));
      }, server.delayMs);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  server.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`;
  server.close = () => new Promise<void>((resolve) => http.close(() => resolve()) && http.closeAllConnections());
});
afterAll(() => server.close());
beforeEach(() => {
  server.hits = 0;
  server.headers = [];
  server.mode = 'ok';
});

const query = (headers: Record<string, string> = {}, body = '{"query":"{ me { id } }"}') => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer alice', [RETRY_SAFE_HEADER]: '1', ...headers },
  body,
});

function client(overrides: Partial<SubgraphClientSettings> = {}) {
  const events = { failures: 0, deduplicated: 0 };
  const subgraph = new SubgraphClient('user', [server.url], settings(overrides), log, {
    failure: () => void (events.failures += 1),
    retry: () => undefined,
    deduplicated: () => void (events.deduplicated += 1),
  });
  return { subgraph, events };
}

describe('in-flight deduplication of identical query fetches', () => {
  it('sends one fetch for identical queries in flight together; each caller gets its own answer object', async () => {
    const { subgraph, events } = client();
    try {
      const responses = await Promise.all(Array.from({ length: 5 }, (_, i) => subgraph.fetch(query({ 'x-request-id': `r-${i}` }))));
      expect(server.hits).toBe(1);
      expect(events.deduplicated).toBe(4);
      const bodies = await Promise.all(responses.map((r) => r.json()));
      expect(bodies).toEqual(Array.from({ length: 5 }, () => ({ data: { n: 1 } })));
      expect(new Set(responses).size).toBe(5);
      expect(new Set(bodies).size).toBe(5);
      // The exchange that went out is the first caller's.
      expect(server.headers[0]!['x-request-id']).toBe('r-0');
      expect(server.headers[0]![RETRY_SAFE_HEADER]).toBeUndefined();
    } finally {
      await subgraph.close();
    }
  });

  it('shares nothing between callers with different tokens, budgets, bodies, or with a fetch that has finished', async () => {
    const { subgraph, events } = client();
    try {
      await Promise.all([
        subgraph.fetch(query()),
        subgraph.fetch(query({ authorization: 'Bearer bob' })),
        subgraph.fetch(query({ 'x-suoke-rate-budget': '{"me":{"me":30}}' })),
        subgraph.fetch(query({}, '{"query":"{ me { id } }","variables":{"x":1}}')),
      ]);
      expect(server.hits).toBe(4);
      await subgraph.fetch(query());
      expect(server.hits).toBe(5);
      expect(events.deduplicated).toBe(0);
    } finally {
      await subgraph.close();
    }
  });

  it('never shares a mutation (a fetch not marked retry-safe)', async () => {
    const { subgraph } = client();
    try {
      const mutation = { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer alice' }, body: '{"query":"mutation { logout }"}' };
      await Promise.all([subgraph.fetch(mutation), subgraph.fetch(mutation), subgraph.fetch(mutation)]);
      expect(server.hits).toBe(3);
    } finally {
      await subgraph.close();
    }
  });

  it('gives every caller the shared fetch failure, each counted', async () => {
    server.mode = 'reset';
    const { subgraph, events } = client();
    try {
      const outcomes = await Promise.allSettled(Array.from({ length: 3 }, () => subgraph.fetch(query())));
      for (const outcome of outcomes) {
        expect(outcome.status).toBe('rejected');
        expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(SubgraphFetchError);
      }
      // The first caller's fetch is retried once over a new connection (a query that got no answer); the others wait for it.
      expect(server.hits).toBe(2);
      expect(events.failures).toBe(3);
    } finally {
      await subgraph.close();
    }
  });

  it('sends every fetch when turned off (SUBGRAPH_DEDUPLICATE=off)', async () => {
    const { subgraph } = client({ deduplicate: false });
    try {
      await Promise.all(Array.from({ length: 4 }, () => subgraph.fetch(query())));
      expect(server.hits).toBe(4);
    } finally {
      await subgraph.close();
    }
  });
});

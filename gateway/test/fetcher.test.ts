import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net';
import { createLogger } from '@suoke/platform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_SAFE_HEADER, SubgraphClient, SubgraphFetchError, type SubgraphClientSettings } from '../src/fetcher.js';

const log = createLogger({ service: 'fetcher-test', level: 'silent' });

const settings = (overrides: Partial<SubgraphClientSettings> = {}): SubgraphClientSettings => ({
  timeoutMs: 2_000,
  maxInFlight: 100,
  connections: 4,
  breaker: { errorThresholdPercentage: 50, volumeThreshold: 100, windowMs: 10_000, resetTimeoutMs: 1_000 },
  ejectBaseMs: 60_000,
  ejectMaxMs: 60_000,
  readinessIntervalMs: 0,
  // Each test counts the fetches it sends: sharing is tested in dedup.test.ts.
  deduplicate: false,
  ...overrides,
});

const QUERY = { method: 'POST', headers: { 'content-type': 'application/json', [RETRY_SAFE_HEADER]: '1' }, body: '{"query":"{ a }"}' };
const MUTATION = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"mutation { a }"}' };

interface Endpoint {
  url: string;
  /** What an HTTP endpoint answers; may be changed between requests. */
  status: number;
  /** Connections accepted (net servers) or requests received (HTTP servers). */
  hits: number;
  headers: IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

/** Answers every request with `status` and a GraphQL body. */
async function answering(status = 200): Promise<Endpoint> {
  const endpoint: Endpoint = { url: '', status, hits: 0, headers: [], close: async () => undefined };
  const server = createHttpServer((req, res) => {
    endpoint.hits += 1;
    endpoint.headers.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.writeHead(endpoint.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { a: 1 } }));
    });
  });
  endpoint.url = await listen(server);
  endpoint.close = () => new Promise((resolve) => server.close(() => resolve()) && server.closeAllConnections());
  return endpoint;
}

/** Accepts connections, reads the request, then either closes without a byte of answer or never answers. */
async function rude(behaviour: 'reset' | 'hang'): Promise<Endpoint> {
  const sockets = new Set<import('node:net').Socket>();
  const endpoint: Endpoint = { url: '', status: 0, hits: 0, headers: [], close: async () => undefined };
  const server = createNetServer((socket) => {
    endpoint.hits += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => {
      if (behaviour === 'reset') socket.destroy();
    });
  });
  endpoint.url = await listen(server);
  endpoint.close = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return endpoint;
}

/** A URL on which nothing listens. */
async function refusing(): Promise<string> {
  const server = createNetServer();
  const url = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return url;
}

async function failure(promise: Promise<unknown>): Promise<SubgraphFetchError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SubgraphFetchError);
  return error as SubgraphFetchError;
}

const clients: SubgraphClient[] = [];
function client(urls: string[], overrides?: Partial<SubgraphClientSettings>) {
  const created = new SubgraphClient('health', urls, settings(overrides), log);
  clients.push(created);
  return created;
}
/** Makes the balancer's first choice `url`: every other instance looks busy. */
function steer(target: SubgraphClient, url: string): void {
  for (const instance of target.balancer.instances) instance.outstanding = instance.url === url ? 0 : 1_000;
}

let good: Endpoint;
beforeAll(async () => {
  good = await answering();
});
afterAll(async () => {
  await good.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('SubgraphClient: retry once, for queries only', () => {
  it('sends a query to another instance when the first refuses the connection; a mutation fails', async () => {
    const down = await refusing();
    const query = client([down, good.url]);
    steer(query, down);
    const before = good.hits;
    const response = await query.fetch(QUERY);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { a: 1 } });
    expect(good.hits - before).toBe(1);

    const mutation = client([down, good.url]);
    steer(mutation, down);
    const error = await failure(mutation.fetch(MUTATION));
    expect(error.reason).toBe('unreachable');
    expect(error.detail).toMatchObject({ sent: false, code: 'ECONNREFUSED' });
    expect(good.hits - before).toBe(1);
  });

  it('sends a query again when the connection closed before any answer; never a mutation', async () => {
    const reset = await rude('reset');
    try {
      const query = client([reset.url, good.url]);
      steer(query, reset.url);
      const before = good.hits;
      expect((await query.fetch(QUERY)).status).toBe(200);
      expect(reset.hits).toBe(1);
      expect(good.hits - before).toBe(1);

      const mutation = client([reset.url, good.url]);
      steer(mutation, reset.url);
      const error = await failure(mutation.fetch(MUTATION));
      expect(error.reason).toBe('connection_lost');
      expect(error.detail).toMatchObject({ sent: true, responded: false });
      expect(reset.hits).toBe(2);
      expect(good.hits - before).toBe(1);
    } finally {
      await reset.close();
    }
  });

  it('with a single instance, retries a lost connection on a new one, but not a refused one', async () => {
    const reset = await rude('reset');
    try {
      const error = await failure(client([reset.url]).fetch(QUERY));
      expect(error.reason).toBe('connection_lost');
      expect(reset.hits).toBe(2);
    } finally {
      await reset.close();
    }
    const error = await failure(client([await refusing()]).fetch(QUERY));
    expect(error.reason).toBe('unreachable');
  });

  it('never sends the retry marker on the wire', async () => {
    const before = good.headers.length;
    await client([good.url]).fetch(QUERY);
    const sent = good.headers.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]![RETRY_SAFE_HEADER]).toBeUndefined();
    expect(sent[0]!['content-type']).toBe('application/json');
  });
});

describe('SubgraphClient: budget, in-flight bound and breaker', () => {
  it('aborts a fetch at its budget and does not retry it', async () => {
    const hang = await rude('hang');
    try {
      const error = await failure(client([hang.url], { timeoutMs: 200 }).fetch(QUERY));
      expect(error.reason).toBe('timeout');
      expect(error.message).toMatch(/200 ms/);
      expect(hang.hits).toBe(1);
    } finally {
      await hang.close();
    }
  });

  it('fails a fetch beyond maxInFlight at once, without sending it', async () => {
    const hang = await rude('hang');
    try {
      const bounded = client([hang.url], { timeoutMs: 500, maxInFlight: 1 });
      const first = bounded.fetch(QUERY);
      const second = await failure(bounded.fetch(QUERY));
      expect(second.reason).toBe('overloaded');
      expect(second.message).toMatch(/limit 1/);
      expect((await failure(first)).reason).toBe('timeout');
      expect(hang.hits).toBe(1);
    } finally {
      await hang.close();
    }
  });

  it('opens on repeated 5xx, answers at once while open, and closes after a successful half-open probe', async () => {
    const broken = await answering(503);
    try {
      const breaking = client([broken.url], { breaker: { errorThresholdPercentage: 50, volumeThreshold: 3, windowMs: 10_000, resetTimeoutMs: 300 } });
      for (let i = 0; i < 3; i += 1) expect((await failure(breaking.fetch(QUERY))).reason).toBe('http_5xx');
      expect(breaking.breaker.state).toBe('open');
      const hits = broken.hits;
      expect((await failure(breaking.fetch(QUERY))).reason).toBe('circuit_open');
      expect(broken.hits).toBe(hits);
      expect(breaking.breaker.stats.rejectedOpen).toBe(1);

      // The subgraph recovers: after resetTimeoutMs one probe goes through and closes the breaker.
      broken.status = 200;
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(breaking.breaker.state).toBe('half-open');
      expect((await breaking.fetch(QUERY)).status).toBe(200);
      expect(breaking.breaker.state).toBe('closed');
      expect(broken.hits).toBe(hits + 1);
    } finally {
      await broken.close();
    }
  });

  it('a 400 (a variable the subgraph refused) is the client\'s fault: sent once, no retry, no trip, no ejection', async () => {
    const refusingInput = await answering(400);
    try {
      const c = client([refusingInput.url, good.url], { breaker: { errorThresholdPercentage: 50, volumeThreshold: 2, windowMs: 10_000, resetTimeoutMs: 300 } });
      const goodHits = good.hits;
      for (let i = 0; i < 6; i += 1) {
        steer(c, refusingInput.url);
        expect((await c.fetch(QUERY)).status).toBe(400);
      }
      expect(refusingInput.hits).toBe(6);
      expect(good.hits).toBe(goodHits);
      expect(c.breaker.state).toBe('closed');
      const instance = c.balancer.instances.find((i) => i.url === refusingInput.url)!;
      expect(instance.ejected).toBe(false);
      expect(instance.consecutiveFailures).toBe(0);
    } finally {
      await refusingInput.close();
    }
  });

  it('a 4xx answer is an answer: returned as is, not counted against the subgraph', async () => {
    const refusingAuth = await answering(401);
    try {
      const c = client([refusingAuth.url], { breaker: { errorThresholdPercentage: 50, volumeThreshold: 2, windowMs: 10_000, resetTimeoutMs: 300 } });
      for (let i = 0; i < 4; i += 1) expect((await c.fetch(QUERY)).status).toBe(401);
      expect(c.breaker.state).toBe('closed');
    } finally {
      await refusingAuth.close();
    }
  });
});

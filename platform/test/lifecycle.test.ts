import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/db.js';
import { createLogger } from '../src/logger.js';
import { createSubgraph, subgraphEnv } from '../src/subgraph/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
  type Query { slow(ms: Int!): String fast: String }
`);
const resolvers = {
  Query: {
    slow: async (_p: unknown, { ms }: { ms: number }) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return `slept ${ms}`;
    },
    fast: () => 'ok',
  },
};
const log = createLogger({ service: 'lifecycle-test', level: 'silent', format: 'json' });
const config = loadConfig('lifecycle-test', subgraphEnv(0), { NODE_ENV: 'test', LOG_LEVEL: 'silent', SHUTDOWN_GRACE_MS: '5000' });

let testDb: TestDatabase;
beforeAll(async () => {
  testDb = await createTestDatabase('lifecycle');
});
afterAll(async () => {
  await testDb?.drop();
});

function start(database: Database) {
  return createSubgraph({ name: 'lifecycle', typeDefs, resolvers, config, database, createLoaders: () => ({}), log });
}

const query = (base: string, q: string) =>
  fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: q }) });

describe('graceful stop', () => {
  it('lets an in-flight request finish, then refuses new connections', async () => {
    const subgraph = start(testDb.database);
    const { port } = await subgraph.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    const inFlight = query(base, '{ slow(ms: 400) }');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = subgraph.stop();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { slow: 'slept 400' } });
    await stopped;
    await expect(query(base, '{ fast }')).rejects.toThrow();
  });
});

describe('readiness-first drain (SHUTDOWN_DELAY_MS)', () => {
  it('answers 503 on /health/ready at once, keeps answering requests for the delay, then closes', async () => {
    const delayed = loadConfig('lifecycle-test', subgraphEnv(0), { NODE_ENV: 'test', LOG_LEVEL: 'silent', SHUTDOWN_DELAY_MS: '600' });
    expect(delayed.SHUTDOWN_DELAY_MS).toBe(600);
    const subgraph = createSubgraph({ name: 'lifecycle', typeDefs, resolvers, config: delayed, database: testDb.database, createLoaders: () => ({}), log });
    const { port } = await subgraph.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    const began = performance.now();
    let stoppedAt = 0;
    const stopped = subgraph.stop().then(() => (stoppedAt = performance.now()));
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    // Still accepting and answering, new connections included, while the balancers catch up.
    const during = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ query: '{ fast }' }) });
    expect(during.status).toBe(200);
    expect(await during.json()).toEqual({ data: { fast: 'ok' } });
    expect(stoppedAt).toBe(0);
    await stopped;
    expect(stoppedAt - began).toBeGreaterThanOrEqual(590);
    await expect(query(base, '{ fast }')).rejects.toThrow();
  });

  it('defaults to 0: without it, stop closes at once', () => {
    expect(config.SHUTDOWN_DELAY_MS).toBe(0);
    expect(() => loadConfig('lifecycle-test', subgraphEnv(0), { SHUTDOWN_DELAY_MS: '-1' })).toThrow(/SHUTDOWN_DELAY_MS/);
  });
});

describe('readiness', () => {
  it('is 503 while the database does not answer, live all the same', async () => {
    let up = false;
    const flaky: Database = {
      ...testDb.database,
      async ping() {
        if (!up) throw new Error('database starting');
      },
    };
    const subgraph = start(flaky);
    const { port } = await subgraph.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${port}`;
    try {
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
      const notReady = await fetch(`${base}/health/ready`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'unavailable' });
      up = true;
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
    } finally {
      await subgraph.stop();
    }
  });
});

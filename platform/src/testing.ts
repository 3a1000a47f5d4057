import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { createClient as createSseClient } from 'graphql-sse';
import postgres from 'postgres';
import { signAccessToken, signServiceToken, signingKeyFromJwk, testSigningJwk, tokenVerifierOptions, type SigningKey } from './auth/index.js';
import { baseEnv } from './config.js';
import { createDatabase, type Database } from './db.js';
import { sqlStats } from './request-context.js';
import type { SubgraphDefinition } from './subgraph/index.js';

/**
 * Test helpers. Each test file gets a fresh database: with DATABASE_URL a new
 * PostgreSQL database created for it (and dropped after), otherwise an
 * in-memory PGlite. Nothing is shared between files.
 */
export interface TestDatabase {
  database: Database;
  /** The URL of the fresh database, when running on real PostgreSQL. */
  url?: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(service: string, extensions?: Record<string, unknown>): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const database = await createDatabase({ service, pgliteDataDir: 'memory://', ...(extensions ? { pgliteExtensions: extensions } : {}) });
    return { database, drop: () => database.close() };
  }
  const name = `suoke_t_${service}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await createDatabase({ service, url: url.toString(), poolMax: 5 });
  return {
    database,
    url: url.toString(),
    async drop() {
      await database.close();
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/**
 * The token settings services use in tests when the environment sets none: the
 * issuer and audiences, and the public keys of this test run's keys (the user
 * subgraph's and each trusted service's, derived from SUOKE_TEST_KEY_SEED), as
 * `createTokenVerifier` takes them. Nothing here can sign.
 */
export const testJwt = (() => {
  const defaults = baseEnv.parse({ NODE_ENV: 'test' });
  return { ...tokenVerifierOptions(defaults), serviceAudience: defaults.SERVICE_TOKEN_AUDIENCE, serviceTtlSeconds: defaults.SERVICE_TOKEN_TTL_SECONDS };
})();

/** The key a service signs with in tests (the same one a test subgraph or a test process of that service uses). */
export function testSigningKey(service: string): SigningKey {
  return signingKeyFromJwk(testSigningJwk(service));
}

/**
 * Signs an access token as the user subgraph would, with its test key;
 * `ttlSeconds` may be negative for an expired token, `key` signs with another key.
 */
export function testToken(user: { id: string; roles?: string[]; sessionId?: string }, options: { ttlSeconds?: number; key?: SigningKey } = {}): Promise<string> {
  return signAccessToken(
    { id: user.id, roles: user.roles ?? ['USER'], ...(user.sessionId ? { sessionId: user.sessionId } : {}) },
    { key: options.key ?? testSigningKey('user'), issuer: testJwt.issuer, audience: testJwt.audience, ttlSeconds: options.ttlSeconds ?? 300 },
  );
}

/** Signs a service token (`service:<name>`, exactly `scopes`) with that service's test key, as it would when calling through the gateway. */
export function testServiceToken(name: string, scopes: readonly string[], options: { ttlSeconds?: number; key?: SigningKey } = {}): Promise<string> {
  return signServiceToken(
    { name, scopes },
    { key: options.key ?? testSigningKey(name), issuer: testJwt.issuer, audience: testJwt.serviceAudience, ttlSeconds: options.ttlSeconds ?? testJwt.serviceTtlSeconds },
  );
}

/** The shared secret test subgraphs are configured with when a test calls them as the gateway would. */
/**
 * A TCP port free on 127.0.0.1 right now (for a process the test starts on it).
 * Chosen below Linux's ephemeral range (32768–60999), from which the kernel
 * hands out the local ports of outgoing connections: a port picked there (as
 * `listen(0)` does) could be taken by a database or Redis connection of a test
 * running alongside before the process meant for it listens (EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('freePort: no free port found in 20000–31999 after 50 tries');
}

/**
 * A free port held by a placeholder listener until `release()`, for a server
 * that must be named (in another service's configuration) long before it
 * listens: between `freePort()` and a listen seconds later (a database created
 * and migrated meanwhile), a test file running alongside could pick the same
 * port. Release it right before the real listen.
 */
export async function reservePort(): Promise<{ port: number; release(): Promise<void> }> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    // A connection made to the placeholder is cut at once, as a refused one would fail.
    const server = createServer((socket) => socket.destroy());
    const held = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (held) return { port, release: () => new Promise((resolve) => server.close(() => resolve())) };
  }
  throw new Error('reservePort: no free port found in 20000–31999 after 50 tries');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export const TEST_GATEWAY_SECRET = 'test-gateway-secret-0123456789';

/**
 * Headers of a call from the gateway: the secret, and a client address of the
 * IPv6 documentation prefix (a new one per call unless `ip` is given), so that
 * tests of other behaviour do not trip per-IP limits such as sign-up's.
 */
export function gatewayHeaders(ip?: string): Record<string, string> {
  const part = () => Math.floor(Math.random() * 0xffff).toString(16);
  return { 'x-gateway-secret': TEST_GATEWAY_SECRET, 'x-suoke-client-ip': ip ?? `2001:db8:${part()}:${part()}::${part()}` };
}

/** Who calls in a test: a user to sign a token for, a ready token, or nobody. */
export type TestCaller = { id: string; roles?: string[] } | string | undefined;

export interface TestGraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: { code?: string; field?: string; [key: string]: unknown } }>;
}

/**
 * A subgraph on port 0 over a fresh migrated database, queried over HTTP as
 * the gateway queries it (shared secret, a forwarded client address), so that
 * the context, authentication and rate limits are built from the request as in
 * production. `env` adds to the test configuration.
 */
export async function startTestSubgraph<M = unknown>(
  definition: SubgraphDefinition,
  options: {
    env?: Record<string, string>;
    /** More options for the subgraph's `create` (test doubles it accepts, such as replaced providers). */
    createOptions?: Record<string, unknown>;
  } = {},
) {
  const testDatabase = await createTestDatabase(definition.name, definition.pgliteExtensions);
  const { database } = testDatabase;
  const migrated = (await definition.migrate(database)) as M;
  const config = definition.loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', GATEWAY_SECRET: TEST_GATEWAY_SECRET, ...options.env });
  const subgraph = definition.create({ ...options.createOptions, config, database });
  const { url } = await subgraph.listen(0, '127.0.0.1');

  async function gql<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, caller?: TestCaller): Promise<TestGraphQLResponse<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...gatewayHeaders() };
    if (caller) headers.authorization = `Bearer ${typeof caller === 'string' ? caller : await testToken(caller)}`;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return { status: response.status, ...((await response.json()) as Omit<TestGraphQLResponse<T>, 'status'>) };
  }

  return {
    testDatabase,
    database,
    subgraph,
    url,
    migrated,
    gql,
    /** Runs `fn` and returns how many SQL statements it sent (process-wide counter). */
    async countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
      const before = sqlStats.statements;
      const result = await fn();
      return { result, statements: sqlStats.statements - before };
    },
    async close() {
      await subgraph.stop();
      await testDatabase.drop();
    },
  };
}

/** A subscription opened by a test over graphql-sse, as the gateway opens it on a subgraph. */
export interface TestSubscription<T> {
  /** The next result not yet taken; `undefined` once the stream has completed. Rejects after `timeoutMs`. */
  next(timeoutMs?: number): Promise<TestGraphQLResponse<T> | undefined>;
  /** Settles when the stream ends: `error` is what the client reported (graphql-sse's NetworkError for a non-200 answer). */
  ended: Promise<{ error?: unknown }>;
  /** The client disconnects (aborts the request). */
  dispose(): void;
}

/**
 * Subscribes at `<service>/graphql/stream` with the graphql-sse client in its
 * distinct connections mode, sending the gateway's headers (unless `headers`
 * replaces them) and `caller`'s token. No retries: a refusal ends the stream.
 */
export function subscribeOverSse<T = Record<string, any>>(
  graphqlUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  options: { caller?: TestCaller; headers?: Record<string, string> } = {},
): TestSubscription<T> {
  const queue: Array<TestGraphQLResponse<T> | undefined> = [];
  const waiters: Array<(value: TestGraphQLResponse<T> | undefined) => void> = [];
  const push = (value: TestGraphQLResponse<T> | undefined) => {
    const waiter = waiters.shift();
    if (waiter) waiter(value);
    else queue.push(value);
  };
  const client = createSseClient({
    url: graphqlUrl.replace(/\/graphql$/, '/graphql/stream'),
    retryAttempts: 0,
    headers: async () => {
      const headers = { ...(options.headers ?? gatewayHeaders()) };
      const caller = options.caller;
      if (caller) headers.authorization = `Bearer ${typeof caller === 'string' ? caller : await testToken(caller)}`;
      return headers;
    },
  });
  let settle!: (value: { error?: unknown }) => void;
  const ended = new Promise<{ error?: unknown }>((resolve) => (settle = resolve));
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => push({ status: 200, ...(result as Omit<TestGraphQLResponse<T>, 'status'>) }),
      error: (error) => {
        push(undefined);
        settle({ error });
      },
      complete: () => {
        push(undefined);
        settle({});
      },
    },
  );
  return {
    ended,
    next(timeoutMs = 10_000) {
      if (queue.length > 0) return Promise.resolve(queue.shift());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no subscription result within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (value: TestGraphQLResponse<T> | undefined) => {
          clearTimeout(timer);
          resolve(value);
        };
        waiters.push(waiter);
      });
    },
    dispose() {
      dispose();
      client.dispose();
    },
  };
}

/**
 * Polls `probe` every `everyMs` until it gives a value other than undefined, and returns it; past `timeoutMs` it
 * fails naming `what`. For effects that happen in another process or on a timer (jobs, sagas).
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

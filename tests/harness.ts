import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { DEFAULT_TRUSTED_SERVICES, type SubgraphDefinition } from '@suoke/platform';
import { createTestDatabase, reservePort, type TestDatabase } from '@suoke/platform/testing';
import { createGateway, loadGatewayConfig } from '../gateway/src/server.js';
import type { PreplannedPlanCache } from '../gateway/src/plan-cache.js';
import { usageExport, windowOf, type UsageExport, type UsageStore } from '../gateway/src/usage/index.js';
import { readSupergraphConfig } from '../scripts/supergraph-config.mjs';

/** The shared secret between the stack's gateway and subgraphs (a second gateway in a test needs it too). */
export const HARNESS_GATEWAY_SECRET = 'harness-gateway-secret-0123456789';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface Stack {
  gatewayUrl: string;
  subgraphUrls: Record<string, string>;
  /** Each subgraph's fresh test database, by subgraph name. */
  databases: Record<string, TestDatabase>;
  query<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** GraphQL requests the subgraphs have received so far (the gateway's fetches). */
  subgraphFetches(): number;
  /** Every instance of each subgraph (several with `replicas`), to stop and start again. */
  instances: Record<string, SubgraphInstance[]>;
  /** The gateway's field usage store (its own fresh database): flush what is counted, then read it. */
  usage: StackUsage;
  /** Apollo Gateway's plan store in the gateway: plans built on requests and ahead of swaps. */
  planCache: PreplannedPlanCache;
  stop(): Promise<void>;
}

export interface StackUsage {
  /** Writes the counts held in memory (the gateway does it every USAGE_FLUSH_MS). */
  flush(): Promise<void>;
  /** Flushes, then reads the export of the last `days` (default 1). */
  export(days?: number): Promise<UsageExport>;
  /** The open store; undefined with USAGE_RECORDING=off. */
  readonly store: UsageStore | undefined;
  /** The usage database's URL on the PostgreSQL path (what `npm run usage` is given as USAGE_DATABASE_URL). */
  readonly url: string | undefined;
}

/** One running copy of a subgraph, on its own port, sharing the subgraph's database with its siblings. */
export interface SubgraphInstance {
  readonly url: string;
  readonly running: boolean;
  /** GraphQL requests it has received, across restarts. */
  requests(): number;
  /** Subscription streams (POST /graphql/stream) open on it now; 0 while stopped. */
  openStreams(): number;
  /** Drains and stops it, as SIGTERM does: the port refuses connections afterwards. */
  stop(): Promise<void>;
  /** A fresh server on the same port (a restarted process), its configuration changed by `env` if given (e.g. new keys). */
  start(env?: Record<string, string>): Promise<void>;
}

export interface StackOptions {
  /** Extra gateway environment (e.g. NODE_ENV=production, SUPERGRAPH_PATH). */
  gatewayEnv?: Record<string, string>;
  /** Extra subgraph environment (e.g. GATEWAY_SECRET). */
  subgraphEnv?: Record<string, string>;
  onSupergraphUpdate?: (outcome: { accepted: boolean; hash: string; error?: string }) => void;
  onTrustedDocumentsUpdate?: (outcome: { accepted: boolean; version: string; error?: string }) => void;
  /** Instances per subgraph (default 1); the gateway gets their URLs as one comma-separated list. */
  replicas?: Record<string, number>;
  /** The URL the gateway is given for a subgraph instead of its instances' (e.g. a server that hangs). */
  gatewaySubgraphUrls?: Record<string, string>;
}

/** Every subgraph named in supergraph.yaml, through the `definition` its server.ts exports. */
export async function subgraphDefinitions(): Promise<SubgraphDefinition[]> {
  const names = readSupergraphConfig().subgraphs.map((s: { name: string }) => s.name);
  return Promise.all(
    names.map(async (name: string) => ((await import(`../subgraphs/${name}/src/server.ts`)) as { definition: SubgraphDefinition }).definition),
  );
}

/**
 * The whole supergraph in this process: each subgraph on a free port with its
 * own fresh database (PGlite in memory, or a new PostgreSQL database when
 * DATABASE_URL is set), and the gateway on a free port routing to them.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  // Chosen first, so that subgraphs calling back through the gateway (the agent's knowledge search) know where it is.
  // Held by placeholders until each server listens (reservePort): named in the configuration long before.
  const gatewayReservation = await reservePort();
  const gatewayPort = gatewayReservation.port;
  // The signing services' first instances get their ports now, so that every verifier is configured with
  // their JWKS URLs, as in a deployment: user tokens from the user subgraph's keys, service tokens from
  // each service's own (the test run's keys: testToken and testServiceToken sign with the same).
  const definitions = await subgraphDefinitions();
  const reservations: Record<string, Awaited<ReturnType<typeof reservePort>>> = {};
  for (const definition of definitions) reservations[definition.name] = await reservePort();
  const firstPorts: Record<string, number> = Object.fromEntries(Object.entries(reservations).map(([name, r]) => [name, r.port]));
  const jwksUrl = (name: string) => `http://127.0.0.1:${firstPorts[name]}/.well-known/jwks.json`;
  const trusted = Object.fromEntries(Object.entries(DEFAULT_TRUSTED_SERVICES).map(([name, { scopes }]) => [name, { jwks: jwksUrl(name), scopes }]));
  // Photos and recordings of this stack (the embedded media store), uploaded to the diagnosis subgraph's signed URLs.
  const mediaDir = mkdtempSync(path.join(tmpdir(), 'suoke-stack-media-'));
  const env = {
    MEDIA_DIR: mediaDir,
    MEDIA_PUBLIC_URL: `http://127.0.0.1:${firstPorts.diagnosis}`,
    JWT_JWKS_URL: jwksUrl('user'),
    TRUSTED_SERVICES: JSON.stringify(trusted),
    NODE_ENV: 'test',
    GATEWAY_URL: `http://127.0.0.1:${gatewayPort}/graphql`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    LOG_FORMAT: 'json',
    // As `npm start` does: subgraphs trust the gateway's forwarded IP and rate budget.
    GATEWAY_SECRET: HARNESS_GATEWAY_SECRET,
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...options.subgraphEnv,
  };
  const databases: Record<string, TestDatabase> = {};
  const subgraphUrls: Record<string, string> = {};
  const gatewayUrls: Record<string, string> = {};
  const instances: Record<string, SubgraphInstance[]> = {};
  const running: { stop(): Promise<void>; stats: { graphqlRequests: number } }[] = [];
  for (const definition of definitions) {
    const testDb = await createTestDatabase(definition.name, definition.pgliteExtensions);
    databases[definition.name] = testDb;
    await definition.migrate(testDb.database);
    const config = definition.loadConfig(env);
    const copies: SubgraphInstance[] = [];
    for (let i = 0; i < (options.replicas?.[definition.name] ?? 1); i += 1) {
      if (i === 0) await reservations[definition.name]!.release();
      const instance = await startInstance(definition, config, testDb.database, i === 0 ? firstPorts[definition.name]! : 0, (extra) =>
        definition.loadConfig({ ...env, ...extra }),
      );
      copies.push(instance);
      running.push({ stop: () => instance.stop(), stats: { get graphqlRequests() { return instance.requests(); } } });
    }
    instances[definition.name] = copies;
    subgraphUrls[definition.name] = copies[0]!.url;
    gatewayUrls[definition.name] = options.gatewaySubgraphUrls?.[definition.name] ?? copies.map((c) => c.url).join(',');
  }
  // The gateway's own usage store: a fresh PostgreSQL database, or PGlite in memory on the embedded path.
  const usageDb = await createTestDatabase('gateway_usage');
  const gateway = createGateway({
    usageDatabase: usageDb.database,
    config: loadGatewayConfig({
      ...env,
      SUPERGRAPH_POLL_MS: '200',
      SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
      // post() names a client address per call, as a proxy in front of the gateway would.
      TRUSTED_PROXY_HOPS: '1',
      ...options.gatewayEnv,
    }),
    subgraphUrls: gatewayUrls,
    ...(options.onSupergraphUpdate ? { onSupergraphUpdate: options.onSupergraphUpdate } : {}),
    ...(options.onTrustedDocumentsUpdate ? { onTrustedDocumentsUpdate: options.onTrustedDocumentsUpdate } : {}),
  });
  await gatewayReservation.release();
  const gatewayUrl = (await gateway.listen(gatewayPort, '127.0.0.1')).url;

  return {
    gatewayUrl,
    subgraphUrls,
    databases,
    query: (query, variables, token, headers) => post(gatewayUrl, { query, variables }, token, headers),
    subgraphFetches: () => running.reduce((sum, s) => sum + s.stats.graphqlRequests, 0),
    instances,
    planCache: gateway.planCache,
    usage: {
      flush: async () => {
        await gateway.usage?.flush();
      },
      async export(days = 1) {
        await gateway.usage?.flush();
        const store = gateway.usage?.store;
        if (!store) throw new Error('usage recording is off (USAGE_RECORDING=off) or its store is not open');
        return usageExport(store, windowOf(days));
      },
      get store() {
        return gateway.usage?.store;
      },
      url: usageDb.url,
    },
    async stop() {
      await gateway.stop();
      await usageDb.drop();
      await Promise.all(running.map((s) => s.stop()));
      rmSync(mediaDir, { recursive: true, force: true });
      await Promise.all(Object.values(databases).map((d) => d.drop()));
    },
  };
}

async function startInstance(
  definition: SubgraphDefinition,
  config: ReturnType<SubgraphDefinition['loadConfig']>,
  database: TestDatabase['database'],
  listenPort: number,
  reconfigure: (env: Record<string, string>) => ReturnType<SubgraphDefinition['loadConfig']>,
): Promise<SubgraphInstance> {
  let current = definition.create({ config, database });
  const url = (await current.listen(listenPort, '127.0.0.1')).url;
  const port = Number(new URL(url).port);
  let earlier = 0;
  let up = true;
  return {
    url,
    get running() {
      return up;
    },
    requests: () => earlier + current.stats.graphqlRequests,
    openStreams: () => (up ? current.openStreams() : 0),
    async stop() {
      if (!up) return;
      up = false;
      await current.stop();
    },
    async start(env) {
      if (up) return;
      earlier += current.stats.graphqlRequests;
      if (env) config = reconfigure(env);
      current = definition.create({ config, database });
      await current.listen(port, '127.0.0.1');
      up = true;
    },
  };
}

export interface LoadResult {
  requests: number;
  failures: number;
  /** The first few failures, described. */
  failed: string[];
}

/**
 * A steady load owned by a test: `concurrency` callers each send, wait for the
 * answer, pause `pauseMs`, and send again until `durationMs` has passed (a
 * bounded loop, lean on CPU). `send` resolves to a failure description, or
 * undefined for a good answer.
 */
export async function loadLoop(options: { durationMs: number; concurrency: number; pauseMs: number; send: () => Promise<string | undefined> }): Promise<LoadResult> {
  const result: LoadResult = { requests: 0, failures: 0, failed: [] };
  const end = Date.now() + options.durationMs;
  const caller = async () => {
    while (Date.now() < end) {
      result.requests += 1;
      const problem = await options.send().catch((error: unknown) => `threw: ${error instanceof Error ? error.message : String(error)}`);
      if (problem !== undefined) {
        result.failures += 1;
        if (result.failed.length < 10) result.failed.push(problem);
      }
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, caller));
  return result;
}

/**
 * A client address from the IPv6 documentation prefix, different on each call
 * unless the caller pins one with an `x-forwarded-for` header: functional tests
 * must not trip the per-IP limits of sign-up and sign-in, nor share counters
 * with earlier runs on the same Redis.
 */
export function randomClientIp(): string {
  const part = () => Math.floor(Math.random() * 0xffff).toString(16);
  return `2001:db8:${part()}:${part()}::${part()}`;
}


export async function post<T>(url: string, body: unknown, token?: string, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-forwarded-for': randomClientIp(),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: { data?: T | null; errors?: GraphQLResponse<T>['errors'] } = {};
  try {
    json = JSON.parse(text);
  } catch {
    json = { errors: [{ message: `non-JSON response: ${text.slice(0, 200)}` }] };
  }
  return { status: response.status, headers: response.headers, ...json };
}

export function codes(response: GraphQLResponse<unknown>): string[] {
  return (response.errors ?? []).map((e) => String(e.extensions?.code));
}

/** The first outcome in `updates` after index `from` that was (or was not) accepted, within 10 s; `what` names it in the failure. */
export async function waitForOutcome<T extends { accepted: boolean }>(updates: readonly T[], from: number, accepted: boolean, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  const found = () => updates.slice(from).find((u) => u.accepted === accepted);
  while (!found() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  expect(found(), `an ${accepted ? 'accepted' : 'rejected'} ${what}`).toBeDefined();
  return found()!;
}

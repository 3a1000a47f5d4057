import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@suoke/platform/testing';
import { createGateway, loadGatewayConfig } from '../gateway/src/server.js';
import { createHealthSubgraph, loadHealthConfig, migrate as migrateHealth } from '../subgraphs/health/src/server.js';
import { createUserSubgraph, loadUserConfig, migrate as migrateUser } from '../subgraphs/user/src/server.js';

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
  databases: Record<'user' | 'health', TestDatabase>;
  query<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Extra gateway environment (e.g. NODE_ENV=production, SUPERGRAPH_PATH). */
  gatewayEnv?: Record<string, string>;
  /** Extra subgraph environment (e.g. GATEWAY_SECRET). */
  subgraphEnv?: Record<string, string>;
  onSupergraphUpdate?: (outcome: { accepted: boolean; hash: string; error?: string }) => void;
}

/**
 * The whole supergraph in this process: each subgraph on a free port with its
 * own fresh database (PGlite in memory, or a new PostgreSQL database when
 * DATABASE_URL is set), and the gateway on a free port routing to them.
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const env = { NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', LOG_FORMAT: 'json', ...options.subgraphEnv };
  const databases = { user: await createTestDatabase('user'), health: await createTestDatabase('health') };
  await migrateUser(databases.user.database);
  await migrateHealth(databases.health.database);
  const user = createUserSubgraph({ config: loadUserConfig(env), database: databases.user.database });
  const health = createHealthSubgraph({ config: loadHealthConfig(env), database: databases.health.database });
  const subgraphUrls = {
    user: (await user.listen(0, '127.0.0.1')).url,
    health: (await health.listen(0, '127.0.0.1')).url,
  };
  const gateway = createGateway({
    config: loadGatewayConfig({
      ...env,
      SUPERGRAPH_POLL_MS: '200',
      SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      ...options.gatewayEnv,
    }),
    subgraphUrls,
    ...(options.onSupergraphUpdate ? { onSupergraphUpdate: options.onSupergraphUpdate } : {}),
  });
  const gatewayUrl = (await gateway.listen(0, '127.0.0.1')).url;

  return {
    gatewayUrl,
    subgraphUrls,
    databases,
    query: (query, variables, token, headers) => post(gatewayUrl, { query, variables }, token, headers),
    async stop() {
      await gateway.stop();
      await Promise.all([user.stop(), health.stop()]);
      await Promise.all([databases.user.drop(), databases.health.drop()]);
    },
  };
}

export async function post<T>(url: string, body: unknown, token?: string, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
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

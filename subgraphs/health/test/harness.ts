import { sql } from 'drizzle-orm';
import { sqlStats, type Database } from '@suoke/platform';
import { createTestDatabase, testToken } from '@suoke/platform/testing';
import { createHealthSubgraph, loadHealthConfig, migrate } from '../src/server.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: { code?: string; field?: string } }>;
}

export type Caller = { id: string; roles?: string[] } | undefined;

/**
 * The health subgraph on port 0 over a fresh database (PGlite in memory, or a
 * new PostgreSQL database when DATABASE_URL is set), queried over HTTP so that
 * the context, and so authentication, is built from the request as in production.
 */
export async function startHealth() {
  const testDatabase = await createTestDatabase('health');
  const { database } = testDatabase;
  await migrate(database);
  const subgraph = createHealthSubgraph({ config: loadHealthConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }), database });
  const { url } = await subgraph.listen(0, '127.0.0.1');

  async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, caller?: Caller): Promise<GraphQLResponse<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (caller) headers.authorization = `Bearer ${await testToken(caller)}`;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, 'status'>) };
  }

  return {
    database,
    url,
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

export type Health = Awaited<ReturnType<typeof startHealth>>;

export const RECORD = /* GraphQL */ `
  mutation Record($input: [ObservationInput!]!) {
    recordObservations(input: $input) {
      inserted
      duplicates
      observations { id type value diastolic unit recordedAt source externalId }
    }
  }
`;

export interface RecordResult {
  recordObservations: {
    inserted: number;
    duplicates: number;
    observations: Array<{ id: string; type: string; value: number; diastolic: number | null; unit: string; recordedAt: string; source: string | null; externalId: string }>;
  } | null;
}

export function heartRates(count: number, options: { prefix?: string; at?: Date; stepMs?: number } = {}) {
  const at = (options.at ?? new Date()).getTime();
  return Array.from({ length: count }, (_, i) => ({
    externalId: `${options.prefix ?? 'hr'}-${i}`,
    type: 'HEART_RATE',
    value: 60 + (i % 40),
    recordedAt: new Date(at - i * (options.stepMs ?? 60_000)).toISOString(),
  }));
}

export async function countRows(database: Database, table: 'observations' | 'observation_keys' | 'profiles'): Promise<number> {
  const rows = await database.rows<{ n: number }>(sql`select count(*)::int as n from ${sql.raw(`"health".${table}`)}`);
  return rows[0]?.n ?? 0;
}

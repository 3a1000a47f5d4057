import { sql } from 'drizzle-orm';
import { sqlStats, type Database } from '@suoke/platform';
import { createTestDatabase } from '@suoke/platform/testing';
import { createKnowledgeSubgraph, loadKnowledgeConfig, migrate, pgliteExtensions } from '../src/server.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: { code?: string; field?: string } }>;
}

/**
 * The knowledge subgraph on port 0 over a fresh database (PGlite in memory
 * with pg_trgm, or a new PostgreSQL database when DATABASE_URL is set),
 * migrated (so the content is loaded) and queried over HTTP, anonymously:
 * everything here is public.
 */
export async function startKnowledge() {
  const testDatabase = await createTestDatabase('knowledge', pgliteExtensions);
  const { database } = testDatabase;
  const migrated = await migrate(database);
  const subgraph = createKnowledgeSubgraph({ config: loadKnowledgeConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }), database });
  const { url } = await subgraph.listen(0, '127.0.0.1');

  async function gql<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, 'status'>) };
  }

  /** Runs `fn` and returns how many SQL statements it sent (process-wide counter). */
  async function countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
    const before = sqlStats.statements;
    const result = await fn();
    return { result, statements: sqlStats.statements - before };
  }

  return {
    database,
    url,
    migrated,
    gql,
    countStatements,
    /** A query that must succeed: fails the test with the errors otherwise. */
    async data<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const result = await gql<T>(query, variables);
      if (result.errors) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
      return result.data as T;
    },
    async close() {
      await subgraph.stop();
      await testDatabase.drop();
    },
  };
}

export type Knowledge = Awaited<ReturnType<typeof startKnowledge>>;

export async function tableCounts(database: Database): Promise<Record<string, number>> {
  const tables = [
    'constitutions', 'herbs', 'acupoints', 'syndromes', 'articles', 'foods', 'constitution_herbs', 'constitution_foods',
    'constitution_acupoints', 'syndrome_constitutions', 'article_constitutions', 'search_documents',
  ];
  const rows = await database.rows<{ name: string; n: number }>(
    sql.raw(tables.map((t) => `select '${t}' as name, count(*)::int as n from "knowledge".${t}`).join(' union all ')),
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.n]));
}

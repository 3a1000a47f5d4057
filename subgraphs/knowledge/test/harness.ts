import { sql } from 'drizzle-orm';
import type { Database } from '@suoke/platform';
import { startTestSubgraph, type TestGraphQLResponse } from '@suoke/platform/testing';
import { definition, migrate } from '../src/server.js';

export type GraphQLResponse<T = Record<string, unknown>> = TestGraphQLResponse<T>;

/**
 * The knowledge subgraph on port 0 over a fresh database (with pg_trgm),
 * migrated (so the content is loaded) and queried anonymously: everything here is public.
 */
export async function startKnowledge() {
  const subgraph = await startTestSubgraph<Awaited<ReturnType<typeof migrate>>>(definition);
  return {
    ...subgraph,
    /** A query that must succeed: fails the test with the errors otherwise. */
    async data<T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      const result = await subgraph.gql<T>(query, variables);
      if (result.errors) throw new Error(`unexpected errors: ${JSON.stringify(result.errors)}`);
      return result.data as T;
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

import { sql } from 'drizzle-orm';
import type { Database } from '@suoke/platform';
import { startTestSubgraph, type TestGraphQLResponse } from '@suoke/platform/testing';
import { definition } from '../src/server.js';

export type GraphQLResponse<T = Record<string, unknown>> = TestGraphQLResponse<T>;

export type Caller = { id: string; roles?: string[] } | undefined;

/** The health subgraph on port 0 over a fresh database, called over HTTP as the gateway calls it. */
export function startHealth() {
  return startTestSubgraph(definition);
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

import { sql, type SQL } from 'drizzle-orm';

export type ArrayElementType = 'uuid' | 'text' | 'int' | 'int8' | 'float8' | 'date' | 'timestamptz';

/**
 * One array parameter for `unnest(...)`. It is sent as text[] and cast in SQL
 * because postgres.js, through drizzle, cannot serialise int[] or timestamptz[]
 * parameters (drizzle replaces its date serialisers); text[] works on both
 * drivers and the cast gives the server the real type.
 */
export function arrayParam(values: readonly (string | number | Date | null | undefined)[], type: ArrayElementType): SQL {
  const texts = values.map((v) => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v)));
  return sql`${sql.param(texts)}::text[]::${sql.raw(type)}[]`;
}

/**
 * A timestamptz as ISO 8601 in UTC with microseconds. Raw SQL returns
 * timestamps as text in the session's time zone; this fixes the format, and the
 * microseconds keep keyset cursors exact.
 */
export function isoUtc(column: SQL): SQL {
  return sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Rows of `tx.execute` inside a drizzle transaction: postgres.js returns an array, PGlite `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}


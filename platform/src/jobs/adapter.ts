import { sql, type SQL } from 'drizzle-orm';
import { PGlite } from '@electric-sql/pglite';
import type { Sql } from 'postgres';
import type { Database, Db } from '../db.js';

/** What pg-boss calls on its `db` option: pg's `pool.query(text, values)` shape. */
export interface BossDb {
  executeSql(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}

/**
 * pg turns parameters into text before sending them, and pg-boss relies on
 * that: id lists are arrays, a job's data is a plain object, dates may be Date
 * objects. Our drivers serialise by the parameter's type as the server
 * describes it, and drizzle sets postgres.js' json and timestamp serialisers
 * to pass text through, so arrays, objects and dates go as pg's text. Booleans
 * and numbers stay as they are: the drivers' boolean serialisers test for
 * `true`, and would read the text 'false' as true on PGlite.
 */
export function pgText(value: unknown): string | number | bigint | boolean | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `{${value.map(arrayElement).join(',')}}`;
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint') return value;
  return String(value);
}

function arrayElement(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  const text = String(pgText(value));
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * pg-boss over the project's Database, on the driver underneath drizzle: a
 * statement with parameters goes through the extended protocol; text without
 * parameters may hold several statements (pg-boss's install and its locked
 * maintenance run `BEGIN; …; COMMIT;` as one text), so it goes through the
 * simple protocol, on one connection. PGlite is one connection anyway.
 */
export function bossDb(database: Database): BossDb {
  // drizzle keeps the driver it was built over on `$client` (postgres.js' Sql, or the PGlite instance).
  const client: unknown = '$client' in database.db ? database.db.$client : undefined;
  if (database.kind === 'pglite') {
    if (!(client instanceof PGlite)) throw new Error('bossDb: the embedded database has no PGlite client under drizzle');
    const pglite = client;
    return {
      async executeSql(text, values) {
        if (values && values.length > 0) {
          const result = await pglite.query<Record<string, unknown>>(text, values.map(pgText));
          return { rows: result.rows };
        }
        const results = await pglite.exec(text);
        return { rows: (results.at(-1)?.rows ?? []) as Record<string, unknown>[] };
      },
    };
  }
  if (!isPostgresJs(client)) throw new Error('bossDb: the database has no postgres.js client under drizzle');
  const postgresJs = client;
  return {
    async executeSql(text, values) {
      if (values && values.length > 0) {
        const rows = await postgresJs.unsafe(text, values.map(pgText));
        return { rows: [...rows] as Record<string, unknown>[] };
      }
      // postgres.js refuses BEGIN on a pooled connection: the text runs on one reserved for it.
      const reserved = await postgresJs.reserve();
      let result: unknown[];
      try {
        result = await reserved.unsafe(text).simple();
      } finally {
        reserved.release();
      }
      // Several statements answer with one row list each; pg-boss only reads the rows of single statements.
      const last = result.length > 0 && Array.isArray(result.at(-1)) ? (result.at(-1) as unknown[]) : result;
      return { rows: [...(last as Record<string, unknown>[])] };
    },
  };
}

/**
 * pg-boss inside a drizzle transaction (`send(..., { tx })`): the job is
 * inserted by the transaction's own connection, so it exists if and only if the
 * rest of the transaction commits. Only single parameterised statements
 * (what `send` issues) are supported.
 */
export function transactionDb(tx: Db): BossDb {
  return {
    async executeSql(text, values = []) {
      return { rows: rowsOf(await tx.execute(withParams(text, values))) };
    },
  };
}

/** `$n` placeholders (outside quoted literals) become drizzle parameters. */
export function withParams(text: string, values: unknown[]): SQL {
  const chunks: SQL[] = [];
  let last = 0;
  const pattern = /'(?:[^']|'')*'|\$(\d+)/g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    if (match[1] === undefined) continue;
    const index = Number(match[1]) - 1;
    if (index < 0 || index >= values.length) throw new Error(`statement names $${match[1]} but ${values.length} values were given`);
    chunks.push(sql.raw(text.slice(last, match.index)), sql`${pgText(values[index])}`);
    last = match.index + match[0].length;
  }
  chunks.push(sql.raw(text.slice(last)));
  return sql.join(chunks, sql.raw(''));
}

/** The rows of a drizzle `execute` result, whichever driver answered: postgres.js with the row list, PGlite with `{ rows }`. */
export function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return [...result];
  if (typeof result === 'object' && result !== null && 'rows' in result && Array.isArray(result.rows)) return result.rows;
  throw new Error('a drizzle execute result without rows');
}

/** postgres.js' Sql (db.ts gives it a bigint type): a tagged-template function with `unsafe` and `reserve`. */
function isPostgresJs(client: unknown): client is Sql<{ bigint: bigint }> {
  return typeof client === 'function' && 'unsafe' in client && 'reserve' in client;
}

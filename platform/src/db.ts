import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql as rawSql, type SQL } from 'drizzle-orm';
import type { Logger as DrizzleLogger } from 'drizzle-orm/logger';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { countSqlStatement } from './request-context.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = PgDatabase<PgQueryResultHKT, any>;

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  /** drizzle over the connection; every statement it sends is counted. */
  readonly db: Db;
  /** Runs raw SQL through drizzle (counted) and returns its rows, whichever driver is underneath. */
  rows<T extends Record<string, unknown>>(query: SQL): Promise<T[]>;
  /** Runs a multi-statement script without parameters (migrations). Not counted. */
  exec(script: string, options?: { lockKey?: string }): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Service name: names the PGlite folder and the connection's application_name. */
  service: string;
  /** postgres:// URL; without it an embedded PGlite is used. */
  url?: string | undefined;
  poolMax?: number;
  /** PGlite data directory, or `memory://`. Defaults to `.data/<service>` under the working directory. */
  pgliteDataDir?: string | undefined;
  /** PGlite contrib extensions to load, e.g. `{ pg_trgm }`; on PostgreSQL they come from CREATE EXTENSION. */
  pgliteExtensions?: Record<string, unknown>;
}

const countingLogger: DrizzleLogger = {
  logQuery() {
    countSqlStatement();
  },
};

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? connectPostgres(options, options.url) : openPglite(options);
}

function connectPostgres(options: DatabaseOptions, url: string): Database {
  const client = postgres(url, {
    max: options.poolMax ?? 10,
    connection: { application_name: `suoke-${options.service}` },
    onnotice: () => {},
    // Keep timestamps as strings in raw SQL so both drivers return the same shapes.
    types: { bigint: postgres.BigInt },
  });
  const db = drizzlePostgres(client, { logger: countingLogger }) as unknown as Db;
  return {
    kind: 'postgres',
    db,
    async rows<T>(query: SQL) {
      return (await db.execute(query)) as unknown as T[];
    },
    async exec(script, execOptions) {
      await client.begin(async (tx) => {
        if (execOptions?.lockKey) await tx`select pg_advisory_xact_lock(hashtext(${execOptions.lockKey}))`;
        await tx.unsafe(script);
      });
    },
    async ping() {
      await client`select 1`;
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  const dataDir = options.pgliteDataDir ?? path.resolve('.data', options.service);
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const client = await PGlite.create(dataDir, {
    ...(options.pgliteExtensions ? { extensions: options.pgliteExtensions as never } : {}),
  });
  const db = drizzlePglite(client, { logger: countingLogger }) as unknown as Db;
  return {
    kind: 'pglite',
    db,
    async rows<T>(query: SQL) {
      const result = (await db.execute(query)) as unknown as { rows: T[] };
      return result.rows;
    },
    async exec(script) {
      // PGlite is a single connection: transactions are already serialised.
      await client.transaction(async (tx) => {
        await tx.exec(script);
      });
    },
    async ping() {
      await client.query('select 1');
    },
    async close() {
      await client.close();
    },
  };
}

/** Quotes an identifier for raw SQL (schema names such as "user" are reserved words). */
export function ident(name: string): SQL {
  return rawSql`${rawSql.identifier(name)}`;
}

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql as rawSql, type SQL } from 'drizzle-orm';
import type { Logger as DrizzleLogger } from 'drizzle-orm/logger';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { createMemoryPglite, pgliteExtensions } from './pglite-template.js';
import { countSqlStatement } from './request-context.js';
import { observeDrizzleQueries, QUERY_OBSERVER, tracedStatement, type QueryObserver } from './telemetry/index.js';

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
  /** Live figures for /metrics: statements sent, statements in flight, connections the pool may open. */
  readonly stats: DatabaseStats;
}

export interface DatabaseStats {
  statements: number;
  inFlight: number;
  readonly poolMax: number;
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

/**
 * drizzle's logger is called once per statement sent: it feeds the per-request
 * statement counter. It also carries the observer that the SQL-span hook looks
 * for (telemetry/sql.ts): a span per statement on sampled requests, and the
 * in-flight count behind the pool-use gauge.
 */
function observingLogger(stats: DatabaseStats): DrizzleLogger {
  observeDrizzleQueries();
  const observer: QueryObserver = async (statement, run) => {
    stats.inFlight += 1;
    try {
      return await tracedStatement(statement, run);
    } finally {
      stats.inFlight -= 1;
    }
  };
  return {
    logQuery() {
      stats.statements += 1;
      countSqlStatement();
    },
    [QUERY_OBSERVER]: observer,
  } as DrizzleLogger;
}

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
  const stats: DatabaseStats = { statements: 0, inFlight: 0, poolMax: options.poolMax ?? 10 };
  const postgresDb = drizzlePostgres(client, { logger: observingLogger(stats) });
  return {
    kind: 'postgres',
    db: postgresDb,
    stats,
    async rows<T>(query: SQL) {
      // The caller names the row shape of its raw SQL.
      return (await postgresDb.execute(query)) as T[];
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
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const client = inMemory
    ? await createMemoryPglite(options.pgliteExtensions ? { extensions: options.pgliteExtensions } : {})
    : await PGlite.create(dataDir, {
        ...(options.pgliteExtensions ? { extensions: pgliteExtensions(options.pgliteExtensions) } : {}),
      });
  // One embedded connection: statements queue behind each other.
  const stats: DatabaseStats = { statements: 0, inFlight: 0, poolMax: 1 };
  const pgliteDb = drizzlePglite(client, { logger: observingLogger(stats) });
  return {
    kind: 'pglite',
    db: pgliteDb,
    stats,
    async rows<T>(query: SQL) {
      // The caller names the row shape of its raw SQL.
      return (await pgliteDb.execute(query)).rows as T[];
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

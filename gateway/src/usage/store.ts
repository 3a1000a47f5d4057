import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type SQL } from 'drizzle-orm';
import { arrayParam, createDatabase, ident, isoUtc, runMigrations, type Database, type MigrationResult } from '@suoke/platform';
import { storeUrl, type UsageConfig } from './config.js';
import { lockEmbeddedStore } from './lock.js';
import type { Batch, SubgraphRow, UsageRow } from './recorder.js';

/** gateway/migrations, from gateway/dist/usage or gateway/src/usage alike. */
export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');

/** The embedded store's folder: `<PGLITE_DATA_DIR or .data>/gateway-usage`, as the subgraphs' are `<dir>/<name>`. */
export function embeddedDir(config: Pick<UsageConfig, 'PGLITE_DATA_DIR'>): string {
  const base = config.PGLITE_DATA_DIR ?? path.resolve('.data');
  return base.startsWith('memory://') ? base : path.join(base, 'gateway-usage');
}

/** One usage row as read back, summed over its hours: what the export and `--field` print. */
export type UsageEntry = Omit<UsageRow, 'hour'>;

/** Which subgraph served a field, summed over the window's hours. */
export type SubgraphEntry = Omit<SubgraphRow, 'hour'>;

/** What `npm run usage` and exportUsage read; the store answers it over SQL, a running embedded gateway over loopback (serve.ts). */
export interface UsageReader {
  entries(window: Window, coordinate?: string): Promise<UsageEntry[]>;
  subgraphs(window: Window, coordinate?: string): Promise<SubgraphEntry[]>;
  close(): Promise<void>;
}

export interface Window {
  from: Date;
  to: Date;
}

const HOUR_MS = 3_600_000;

/**
 * The usage tables in the gateway's own schema (USAGE_SCHEMA). Writes are one statement per table
 * per flush (`insert … select from unnest(…) on conflict do update` adding counts), so replicas
 * writing the same hour, client and coordinate add up instead of overwriting each other.
 */
export class UsageStore implements UsageReader {
  private constructor(
    readonly database: Database,
    private readonly schema: string,
    /** Releases the embedded folder's lock (lock.ts) once the database is closed. */
    private readonly release?: () => void,
  ) {}

  /** Opens the store by the gateway's settings; `database` replaces it (tests hand in their own). */
  static async open(config: UsageConfig, options: { database?: Database; migrate?: boolean } = {}): Promise<UsageStore> {
    const dir = embeddedDir(config);
    // The embedded folder is this process's alone while the store is open (lock.ts); PostgreSQL is shared.
    const release = !options.database && !storeUrl(config) && !dir.startsWith('memory://') ? lockEmbeddedStore(dir) : undefined;
    let database: Database;
    try {
      database = options.database ?? (await createDatabase({ service: 'gateway-usage', url: storeUrl(config), poolMax: 2, pgliteDataDir: dir }));
    } catch (error) {
      release?.();
      throw error;
    }
    const store = new UsageStore(database, config.USAGE_SCHEMA, options.database ? undefined : release);
    try {
      if (options.migrate !== false) await store.migrate();
    } catch (error) {
      if (!options.database) await store.close();
      throw error;
    }
    return store;
  }

  /** Applies gateway/migrations with platform's runMigrations; the files are unqualified, so each runs with search_path set to the schema. */
  migrate(): Promise<MigrationResult> {
    const inSchema: Database = {
      ...this.database,
      rows: (query) => this.database.rows(query),
      exec: (script, options) => this.database.exec(`set local search_path to "${this.schema}";\n${script}`, options),
    };
    return runMigrations(inSchema, this.schema, MIGRATIONS_DIR);
  }

  private table(name: string): SQL {
    return sql`${ident(this.schema)}.${ident(name)}`;
  }

  /** Writes one flush: at most one statement per table, whatever the number of rows. */
  async write(batch: Batch): Promise<void> {
    // In key order: two replicas upserting overlapping keys then lock rows in the same order, and never deadlock.
    const usage = inKeyOrder(batch.usage, (r) => [r.coordinate, r.hour, r.client, r.version, r.operation, r.signature]);
    const table = this.table('field_usage');
    if (usage.length > 0) {
      await this.database.rows(sql`
        insert into ${table} as u (hour, coordinate, client_name, client_version, operation_name, signature, count, first_seen, last_seen)
        select * from unnest(
          ${arrayParam(usage.map((r) => r.hour), 'timestamptz')}, ${arrayParam(usage.map((r) => r.coordinate), 'text')},
          ${arrayParam(usage.map((r) => r.client), 'text')}, ${arrayParam(usage.map((r) => r.version), 'text')},
          ${arrayParam(usage.map((r) => r.operation), 'text')}, ${arrayParam(usage.map((r) => r.signature), 'text')},
          ${arrayParam(usage.map((r) => r.count), 'int8')},
          ${arrayParam(usage.map((r) => r.firstSeen), 'timestamptz')}, ${arrayParam(usage.map((r) => r.lastSeen), 'timestamptz')})
        on conflict (coordinate, hour, client_name, client_version, operation_name, signature) do update
          set count = u.count + excluded.count, first_seen = least(u.first_seen, excluded.first_seen), last_seen = greatest(u.last_seen, excluded.last_seen)`);
    }
    const subgraphs = inKeyOrder(batch.subgraphs, (r) => [r.coordinate, r.hour, r.subgraph]);
    if (subgraphs.length > 0) {
      await this.database.rows(sql`
        insert into ${this.table('field_subgraphs')} as s (hour, coordinate, subgraph, count, first_seen, last_seen)
        select * from unnest(
          ${arrayParam(subgraphs.map((r) => r.hour), 'timestamptz')}, ${arrayParam(subgraphs.map((r) => r.coordinate), 'text')},
          ${arrayParam(subgraphs.map((r) => r.subgraph), 'text')}, ${arrayParam(subgraphs.map((r) => r.count), 'int8')},
          ${arrayParam(subgraphs.map((r) => r.firstSeen), 'timestamptz')}, ${arrayParam(subgraphs.map((r) => r.lastSeen), 'timestamptz')})
        on conflict (coordinate, hour, subgraph) do update
          set count = s.count + excluded.count, first_seen = least(s.first_seen, excluded.first_seen), last_seen = greatest(s.last_seen, excluded.last_seen)`);
    }
  }

  /**
   * Deletes hour buckets older than `days`, at most once an hour across every replica: the one
   * whose update of `maintenance` wins runs the delete. Returns whether this call deleted.
   */
  async retention(days: number, now = new Date()): Promise<boolean> {
    const claimed = await this.database.rows<{ task: string }>(sql`
      update ${this.table('maintenance')} set ran_at = ${now.toISOString()}::timestamptz
      where task = 'retention' and ran_at <= ${now.toISOString()}::timestamptz - interval '1 hour'
      returning task`);
    if (claimed.length === 0) return false;
    // Rows of buckets that end before the cutoff go; the bucket holding the cutoff stays whole.
    const cutoff = new Date(now.getTime() - days * 24 * HOUR_MS - HOUR_MS).toISOString();
    await this.database.rows(sql`delete from ${this.table('field_usage')} where hour < ${cutoff}::timestamptz`);
    await this.database.rows(sql`delete from ${this.table('field_subgraphs')} where hour < ${cutoff}::timestamptz`);
    return true;
  }

  /** Rows whose hour bucket overlaps the window, summed per (coordinate, client, version, operation, signature). */
  async entries(window: Window, coordinate?: string): Promise<UsageEntry[]> {
    const rows = await this.database.rows<{ coordinate: string; client: string; version: string; operation: string; signature: string; count: string | number | bigint; first_seen: string; last_seen: string }>(sql`
      select coordinate, client_name as client, client_version as version, operation_name as operation, signature,
             sum(count)::text as count, ${isoUtc(sql`min(first_seen)`)} as first_seen, ${isoUtc(sql`max(last_seen)`)} as last_seen
      from ${this.table('field_usage')}
      where hour > ${new Date(window.from.getTime() - HOUR_MS).toISOString()}::timestamptz and hour <= ${window.to.toISOString()}::timestamptz
        ${coordinate === undefined ? sql`` : sql`and coordinate = ${coordinate}`}
      group by coordinate, client_name, client_version, operation_name, signature
      order by coordinate, sum(count) desc, client_name, client_version, operation_name`);
    return rows.map((r) => ({
      coordinate: r.coordinate, client: r.client, version: r.version, operation: r.operation, signature: r.signature,
      count: Number(r.count), firstSeen: millis(r.first_seen), lastSeen: millis(r.last_seen),
    }));
  }

  async subgraphs(window: Window, coordinate?: string): Promise<SubgraphEntry[]> {
    const rows = await this.database.rows<{ coordinate: string; subgraph: string; count: string; first_seen: string; last_seen: string }>(sql`
      select coordinate, subgraph, sum(count)::text as count, ${isoUtc(sql`min(first_seen)`)} as first_seen, ${isoUtc(sql`max(last_seen)`)} as last_seen
      from ${this.table('field_subgraphs')}
      where hour > ${new Date(window.from.getTime() - HOUR_MS).toISOString()}::timestamptz and hour <= ${window.to.toISOString()}::timestamptz
        ${coordinate === undefined ? sql`` : sql`and coordinate = ${coordinate}`}
      group by coordinate, subgraph
      order by coordinate, sum(count) desc, subgraph`);
    return rows.map((r) => ({ coordinate: r.coordinate, subgraph: r.subgraph, count: Number(r.count), firstSeen: millis(r.first_seen), lastSeen: millis(r.last_seen) }));
  }

  async close(): Promise<void> {
    try {
      await this.database.close();
    } finally {
      this.release?.();
    }
  }
}

/** isoUtc gives microseconds; the export's timestamps are JavaScript's ISO form (milliseconds). */
function millis(iso: string): string {
  return new Date(iso).toISOString();
}

/** The rows sorted by their primary key's columns (a copy). */
function inKeyOrder<T>(rows: readonly T[], key: (row: T) => string[]): T[] {
  return rows
    .map((row) => ({ row, key: key(row) }))
    .sort((a, b) => {
      for (let i = 0; i < a.key.length; i += 1) if (a.key[i] !== b.key[i]) return a.key[i]! < b.key[i]! ? -1 : 1;
      return 0;
    })
    .map(({ row }) => row);
}

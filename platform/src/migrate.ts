import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Database } from './db.js';

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

const NAME_PATTERN = /^\d{4}_[a-z0-9_]+\.sql$/;

/**
 * Applies the committed SQL files in `dir` (named `NNNN_description.sql`) to the
 * subgraph's own schema, in name order, each in its own transaction under an
 * advisory lock so that replicas starting together apply each file once.
 * Applied files are recorded with a checksum: editing an applied migration is
 * an error, never a silent divergence. drizzle-kit cannot express partitioned
 * tables or partition functions, so migrations are plain SQL written by hand.
 */
export async function runMigrations(database: Database, schema: string, dir: string): Promise<MigrationResult> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const invalid = files.filter((f) => !NAME_PATTERN.test(f));
  if (invalid.length > 0) {
    throw new Error(`migration file names must look like 0001_description.sql; got ${invalid.join(', ')}`);
  }
  const table = `"${schema}"."_migrations"`;
  const lockKey = `suoke:migrate:${schema}`;
  await database.exec(
    // Only when missing: a role that owns its schema but may not create schemas
    // (deploy/postgres gives each subgraph such a role) still migrates.
    `do $$ begin
       if not exists (select 1 from pg_namespace where nspname = '${schema}') then
         execute 'create schema "${schema}"';
       end if;
     end $$;
     create table if not exists ${table} (
       name text primary key,
       checksum text not null,
       applied_at timestamptz not null default now()
     );`,
    { lockKey },
  );
  const result: MigrationResult = { applied: [], skipped: [] };
  for (const file of files) {
    const script = await readFile(path.join(dir, file), 'utf8');
    const checksum = createHash('sha256').update(script).digest('hex');
    const recorded = await recordedChecksum(database, table, file);
    if (recorded === undefined) {
      try {
        // The record goes first: a replica that raced us past the check fails on
        // the primary key and rolls back instead of running the script twice.
        await database.exec(`insert into ${table} (name, checksum) values (${literal(file)}, ${literal(checksum)});\n${script}`, { lockKey });
        result.applied.push(file);
        continue;
      } catch (error) {
        if ((await recordedChecksum(database, table, file)) === undefined) throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
    }
    const now = await recordedChecksum(database, table, file);
    if (now !== checksum) throw new Error(`migration ${file} was changed after it was applied (checksum differs)`);
    result.skipped.push(file);
  }
  return result;
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

async function recordedChecksum(database: Database, table: string, file: string): Promise<string | undefined> {
  const rows = await database.rows<{ checksum: string }>(sql.raw(`select checksum from ${table} where name = ${literal(file)}`));
  return rows[0]?.checksum;
}

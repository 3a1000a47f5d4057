import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Database } from './db.js';
import type { SubgraphFeature } from './feature.js';

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
 *
 * Then each feature's files (`feature.migrations.dir`), in the same schema and
 * the same `_migrations` table, recorded as `<feature>/<file>`; `{{schema}}` in
 * a feature's file is the schema name, and the checksum is of the script as run.
 */
export async function runMigrations(database: Database, schema: string, dir: string, features: readonly SubgraphFeature[] = []): Promise<MigrationResult> {
  const scripts: { name: string; script: string }[] = [];
  for (const file of await migrationFiles(dir)) scripts.push({ name: file, script: await readFile(path.join(dir, file), 'utf8') });
  for (const feature of features) {
    if (!feature.migrations) continue;
    const featureDir = feature.migrations.dir;
    for (const file of await migrationFiles(featureDir)) {
      const template = await readFile(path.join(featureDir, file), 'utf8');
      scripts.push({ name: `${feature.name}/${file}`, script: template.replaceAll('{{schema}}', schema) });
    }
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
  for (const { name, script } of scripts) {
    const checksum = createHash('sha256').update(script).digest('hex');
    const recorded = await recordedChecksum(database, table, name);
    if (recorded === undefined) {
      try {
        // The record goes first: a replica that raced us past the check fails on
        // the primary key and rolls back instead of running the script twice.
        await database.exec(`insert into ${table} (name, checksum) values (${literal(name)}, ${literal(checksum)});\n${script}`, { lockKey });
        result.applied.push(name);
        continue;
      } catch (error) {
        if ((await recordedChecksum(database, table, name)) === undefined) throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error });
      }
    }
    const now = await recordedChecksum(database, table, name);
    if (now !== checksum) throw new Error(`migration ${name} was changed after it was applied (checksum differs)`);
    result.skipped.push(name);
  }
  return result;
}

/** The `.sql` files of a directory in name order; a badly named one is an error before anything runs. */
async function migrationFiles(dir: string): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const invalid = files.filter((f) => !NAME_PATTERN.test(f));
  if (invalid.length > 0) {
    throw new Error(`migration file names must look like 0001_description.sql; got ${invalid.join(', ')}`);
  }
  return files;
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

async function recordedChecksum(database: Database, table: string, file: string): Promise<string | undefined> {
  const rows = await database.rows<{ checksum: string }>(sql.raw(`select checksum from ${table} where name = ${literal(file)}`));
  return rows[0]?.checksum;
}

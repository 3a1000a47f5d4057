import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, AuditCollector, writeAuditEvents } from '../src/audit/index.js';
import type { SubgraphFeature } from '../src/feature.js';
import { runMigrations } from '../src/migrate.js';
import { sqlStats } from '../src/request-context.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';
import { legacyAuditSql, legacyAuditSubjectSql } from './fixtures/legacy-audit.js';

let testDb: TestDatabase;
const dirs: string[] = [];

async function migrationsDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'suoke-mig-'));
  dirs.push(dir);
  for (const [name, script] of Object.entries(files)) await writeFile(path.join(dir, name), script);
  return dir;
}

const count = async (query: ReturnType<typeof sql>) => Number((await testDb.database.rows<{ n: number | string | bigint }>(query))[0]?.n);

beforeAll(async () => {
  testDb = await createTestDatabase('mig');
});

afterAll(async () => {
  await testDb?.drop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('runMigrations', () => {
  it('applies the files in name order once, then skips them; an edited applied file is an error', async () => {
    const dir = await migrationsDir({
      // Written out of order on purpose: 0002 depends on 0001.
      '0002_seed.sql': `insert into "mig_a".items (name) values ('one'), ('two');`,
      '0001_items.sql': `create table "mig_a".items (id serial primary key, name text not null);`,
      'README.md': 'not a migration',
    });

    const first = await runMigrations(testDb.database, 'mig_a', dir);
    expect(first).toEqual({ applied: ['0001_items.sql', '0002_seed.sql'], skipped: [] });
    expect(await count(sql`select count(*) as n from "mig_a".items`)).toBe(2);
    expect(await count(sql`select count(*) as n from "mig_a"._migrations`)).toBe(2);

    const second = await runMigrations(testDb.database, 'mig_a', dir);
    expect(second).toEqual({ applied: [], skipped: ['0001_items.sql', '0002_seed.sql'] });
    expect(await count(sql`select count(*) as n from "mig_a".items`)).toBe(2);

    await writeFile(path.join(dir, '0002_seed.sql'), `insert into "mig_a".items (name) values ('three');`);
    await expect(runMigrations(testDb.database, 'mig_a', dir)).rejects.toThrow(/0002_seed\.sql was changed after it was applied/);
    expect(await count(sql`select count(*) as n from "mig_a".items`)).toBe(2);
  });

  it('applies only the new file when one is added', async () => {
    const dir = await migrationsDir({ '0001_t.sql': `create table "mig_b".t (x int);` });
    expect((await runMigrations(testDb.database, 'mig_b', dir)).applied).toEqual(['0001_t.sql']);
    await writeFile(path.join(dir, '0002_u.sql'), `alter table "mig_b".t add column y int;`);
    expect(await runMigrations(testDb.database, 'mig_b', dir)).toEqual({ applied: ['0002_u.sql'], skipped: ['0001_t.sql'] });
  });

  it.each(['create_items.sql', '1_items.sql', '0001-items.sql', '0001_Items.sql'])('refuses the file name %s before applying anything', async (bad) => {
    const dir = await migrationsDir({ '0001_ok.sql': `create table "mig_c".ok (x int);`, [bad]: 'select 1;' });
    await expect(runMigrations(testDb.database, 'mig_c', dir)).rejects.toThrow(/0001_description\.sql.*got/);
    expect(await count(sql`select count(*) as n from information_schema.tables where table_schema = 'mig_c'`)).toBe(0);
  });

  it('rolls a failing file back entirely and does not record it, so the fixed file applies later', async () => {
    const dir = await migrationsDir({ '0001_broken.sql': `create table "mig_d".a (x int);\nselect * from "mig_d".does_not_exist;` });
    await expect(runMigrations(testDb.database, 'mig_d', dir)).rejects.toThrow(/migration 0001_broken\.sql failed/);
    expect(await count(sql`select count(*) as n from "mig_d"._migrations`)).toBe(0);
    expect(await count(sql`select count(*) as n from information_schema.tables where table_schema = 'mig_d' and table_name = 'a'`)).toBe(0);

    await writeFile(path.join(dir, '0001_broken.sql'), `create table "mig_d".a (x int);`);
    expect((await runMigrations(testDb.database, 'mig_d', dir)).applied).toEqual(['0001_broken.sql']);
  });
});

describe('runMigrations with features', () => {
  it("applies a feature's files after the subgraph's, in the same schema and table, as <feature>/<file>, with the same checksum rule", async () => {
    const own = await migrationsDir({ '0001_t.sql': `create table "mig_f".t (x int);` });
    const featureDir = await migrationsDir({
      '0002_more.sql': `alter table "{{schema}}".f add column y int;`,
      '0001_f.sql': `create table "{{schema}}".f (x int); insert into "{{schema}}".f (x) select count(*) from "mig_f".t;`,
    });
    const feature: SubgraphFeature = { name: 'demo', migrations: { dir: featureDir } };
    expect(await runMigrations(testDb.database, 'mig_f', own, [feature])).toEqual({ applied: ['0001_t.sql', 'demo/0001_f.sql', 'demo/0002_more.sql'], skipped: [] });
    expect(await runMigrations(testDb.database, 'mig_f', own, [feature])).toEqual({ applied: [], skipped: ['0001_t.sql', 'demo/0001_f.sql', 'demo/0002_more.sql'] });
    const names = await testDb.database.rows<{ name: string }>(sql`select name from "mig_f"._migrations order by name`);
    expect(names.map((r) => r.name)).toEqual(['0001_t.sql', 'demo/0001_f.sql', 'demo/0002_more.sql']);

    await writeFile(path.join(featureDir, '0002_more.sql'), `alter table "{{schema}}".f add column z int;`);
    await expect(runMigrations(testDb.database, 'mig_f', own, [feature])).rejects.toThrow(/demo\/0002_more\.sql was changed after it was applied/);
    await writeFile(path.join(featureDir, 'notes.sql'), 'select 1;');
    await expect(runMigrations(testDb.database, 'mig_f', own, [feature])).rejects.toThrow(/0001_description\.sql.*notes\.sql/);
  });

  it("upgrades a schema migrated with the subgraphs' own audit files: the audit feature's files apply as no-ops and nothing is lost", async () => {
    const database = testDb.database;
    // Today's main: the subgraph's own files, the audit SQL among them (health's numbering).
    const before = await migrationsDir({
      '0001_things.sql': `create table "mig_up".things (id int primary key);`,
      '0002_audit.sql': legacyAuditSql('mig_up'),
      '0004_audit_subject.sql': legacyAuditSubjectSql('mig_up'),
    });
    expect((await runMigrations(database, 'mig_up', before)).applied).toEqual(['0001_things.sql', '0002_audit.sql', '0004_audit_subject.sql']);
    const delegated = new AuditCollector({ id: 'u1', actor: 'service:agent', roles: ['USER'], scopes: [] }, 'req-old', undefined);
    delegated.record({ action: 'READ', resource: 'Observation', ids: ['o1', 'o2'] });
    delegated.deny({ resource: 'Observation', reason: 'FORBIDDEN', ids: ['o3'] });
    expect(await writeAuditEvents(database, 'mig_up', delegated)).toBe(2);
    const shape = async (schema: string) => ({
      columns: await database.rows(
        sql`select column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = ${schema} and table_name = 'audit_events' order by ordinal_position`,
      ),
      indexes: (await database.rows<{ indexdef: string }>(sql`select indexdef from pg_indexes where schemaname = ${schema} and tablename = 'audit_events' order by indexname`)).map((r) =>
        r.indexdef.replaceAll(schema, 'S'),
      ),
      triggers: await database.rows(
        sql`select tgname, pg_get_triggerdef(t.oid) like ${'%' + schema + '.audit_events_append_only()%'} as own_function from pg_trigger t
            where tgrelid = (select oid from pg_class where relname = 'audit_events' and relnamespace = ${schema}::regnamespace) and not tgisinternal order by tgname`,
      ),
    });
    const legacyShape = await shape('mig_up');

    // This branch: the audit files are gone from the subgraph's folder; the feature brings them.
    const after = await migrationsDir({ '0001_things.sql': `create table "mig_up".things (id int primary key);` });
    expect(await runMigrations(database, 'mig_up', after, [audit])).toEqual({ applied: ['audit/0001_audit.sql', 'audit/0002_audit_subject.sql'], skipped: ['0001_things.sql'] });
    expect(await runMigrations(database, 'mig_up', after, [audit])).toEqual({ applied: [], skipped: ['0001_things.sql', 'audit/0001_audit.sql', 'audit/0002_audit_subject.sql'] });

    const rows = await database.rows(sql`select actor, subject, outcome, record_ids from "mig_up".audit_events order by outcome`);
    expect(rows).toEqual([
      { actor: 'service:agent', subject: 'u1', outcome: 'ALLOWED', record_ids: ['o1', 'o2'] },
      { actor: 'service:agent', subject: 'u1', outcome: 'DENIED', record_ids: ['o3'] },
    ]);
    for (const statement of [`update "mig_up".audit_events set actor = 'x'`, `delete from "mig_up".audit_events where false`, `truncate "mig_up".audit_events`]) {
      const error = await database.rows(sql.raw(statement)).then(() => undefined, (e: Error & { cause?: Error }) => e);
      expect(error?.cause?.message ?? error?.message, statement).toMatch(/append-only: (UPDATE|DELETE|TRUNCATE) refused/);
    }
    expect(await shape('mig_up')).toEqual(legacyShape);
    expect(legacyShape.columns.map((c) => (c as { column_name: string }).column_name)).toContain('subject');
    expect(legacyShape.triggers).toHaveLength(2);

    // A fresh schema gets the same table from the feature alone.
    const none = await migrationsDir({});
    await runMigrations(database, 'mig_new', none, [audit]);
    expect(await shape('mig_new')).toEqual(legacyShape);
  });
});

describe('Database statement counting', () => {
  it('counts each statement sent through drizzle, and not migration scripts', async () => {
    const before = sqlStats.statements;
    await testDb.database.rows(sql`select 1 as n`);
    await testDb.database.db.execute(sql`select 2 as n`);
    expect(sqlStats.statements - before).toBe(2);
    const beforeExec = sqlStats.statements;
    await testDb.database.exec('create schema if not exists "mig_e"; create table if not exists "mig_e".t (x int);');
    expect(sqlStats.statements).toBe(beforeExec);
  });

  it('answers ping while open', async () => {
    await expect(testDb.database.ping()).resolves.toBeUndefined();
  });
});

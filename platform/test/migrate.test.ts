import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../src/migrate.js';
import { sqlStats } from '../src/request-context.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

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

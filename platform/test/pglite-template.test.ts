import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryPglite } from '../src/pglite-template.js';

// Each case uses a template file of its own, never the machine's shared one that other test files read.
const folder = await mkdtemp(path.join(tmpdir(), 'suoke-template-test-'));
afterAll(() => rm(folder, { recursive: true, force: true }));

describe('in-memory PGlite from the empty-cluster template', () => {
  it('makes the template once, and every database opened from it is a working, empty, separate cluster', async () => {
    const templateFile = path.join(folder, 'fresh.tar');
    const first = await createMemoryPglite({ templateFile });
    const made = await stat(templateFile);
    expect(made.size).toBeGreaterThan(1_000_000);
    await first.exec('create table t (id int primary key, name text); insert into t values (1, $$a$$);');
    expect((await first.query<{ name: string }>('select name from t')).rows).toEqual([{ name: 'a' }]);

    const second = await createMemoryPglite({ templateFile });
    // Nothing of the first database is in the second: the template is the empty cluster, not a live one.
    expect((await second.query<{ n: number }>("select count(*)::int as n from pg_tables where schemaname = 'public'")).rows).toEqual([{ n: 0 }]);
    await second.exec('create table t (id int primary key)');
    expect((await stat(templateFile)).mtimeMs).toBe(made.mtimeMs);
    await Promise.all([first.close(), second.close()]);
  });

  it('opens a database the usual way when the template file is garbage, and removes the garbage', async () => {
    const templateFile = path.join(folder, 'garbage.tar');
    await writeFile(templateFile, 'not a tarball of a PostgreSQL cluster');
    const database = await createMemoryPglite({ templateFile });
    expect((await database.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    await database.close();
    expect(await readFile(templateFile).catch((error: NodeJS.ErrnoException) => error.code)).toBe('ENOENT');
  });
});

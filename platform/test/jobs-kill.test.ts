import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

// A worker killed with SIGKILL inside a job, once after its effect committed and once before: the jobs are
// retried by the next process, every effect happens exactly once, and every job completes. On PostgreSQL the
// workers share a test database; on the embedded default each worker opens the same PGlite directory in turn
// (one process at a time, as PGlite allows), so the kill also tests that PGlite's files survive it.

const child = fileURLToPath(new URL('./fixtures/jobs-kill-child.mjs', import.meta.url));
const JOBS = 6;
let testDb: TestDatabase | undefined;
let dir: string | undefined;
const running: ChildProcess[] = [];

beforeAll(async () => {
  if (process.env.DATABASE_URL) testDb = await createTestDatabase('jobskill');
  else dir = await mkdtemp(path.join(tmpdir(), 'suoke-jobs-kill-'));
});
afterAll(async () => {
  for (const c of running) c.kill('SIGKILL');
  await testDb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Starts a worker; resolves with it once it printed `line` (or rejects when it exits first). */
function worker(env: Record<string, string>, line: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [child], {
    env: { ...process.env, ...(testDb ? { DATABASE_URL: testDb.url! } : { DATABASE_URL: '', PGLITE_DIR: dir! }), ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.push(proc);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not print ${JSON.stringify(line)} in time`)), 60_000);
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      if (text === line) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before printing ${JSON.stringify(line)}`));
    });
  });
}

async function kill(proc: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGKILL');
  await exited;
}

describe('a worker killed with SIGKILL mid-job', () => {
  it('loses nothing and duplicates nothing', async () => {
    // 1. Dies after k2's effect committed, before pg-boss recorded the job as completed.
    await kill(await worker({ SEND: String(JOBS), HOLD_KEY: 'k2', HOLD_AT: 'after' }, 'committed k2'));
    // 2. Dies inside k4 before its effect (k2 comes back once it expires, and finds its effect done).
    await kill(await worker({ HOLD_KEY: 'k4', HOLD_AT: 'before' }, 'holding k4'));
    // 3. Finishes everything and exits.
    const last = await worker({}, 'ready');
    await new Promise<void>((resolve, reject) => last.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`last worker exited ${code}`)))));

    const database: Database = testDb ? testDb.database : await createDatabase({ service: 'jobs-kill', pgliteDataDir: dir! });
    try {
      const effects = await database.rows<{ key: string }>(sql`select key from public.kill_effects order by key`);
      expect(effects.map((e) => e.key)).toEqual(Array.from({ length: JOBS }, (_, i) => `k${i}`));
      const jobs = await database.rows<{ key: string; state: string }>(sql`select data->>'key' as key, state::text from kill_jobs.job where name = 'effect' order by 1`);
      expect(jobs).toEqual(Array.from({ length: JOBS }, (_, i) => ({ key: `k${i}`, state: 'completed' })));
      // The killed runs were retried, by a later process: k2 after its effect (found done), k4 before it.
      const attempts = await database.rows<{ key: string; n: number }>(sql`select key, count(distinct pid)::int as n from public.kill_attempts group by key order by key`);
      const runs = Object.fromEntries(attempts.map((a) => [a.key, Number(a.n)]));
      expect(runs.k2).toBeGreaterThanOrEqual(2);
      expect(runs.k4).toBeGreaterThanOrEqual(2);
      const done = await database.rows<{ n: number }>(sql`select count(*)::int as n from kill_jobs.effects`);
      expect(Number(done[0]!.n)).toBe(JOBS);
    } finally {
      if (!testDb) await database.close();
    }
  }, 120_000);
});

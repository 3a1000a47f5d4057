import { sql } from 'drizzle-orm';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobEngine, type JobEngine } from '../src/jobs/index.js';
import { withParams, pgText } from '../src/jobs/adapter.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase, until, type TestDatabase } from '../src/testing.js';

// The job engine on whichever backend the run has (DATABASE_URL: PostgreSQL, else PGlite in memory).

let testDb: TestDatabase;
let engine: JobEngine;
const registry = new Registry();
const log = createLogger({ service: 'jobs-test', level: 'silent', format: 'json', nodeEnv: 'test' });

/** Attempts of the flaky queue: when each started, and its retryCount. */
const attempts: { at: number; retryCount: number }[] = [];
let flakyDone: (value: number) => void;
const flakyFinished = new Promise<number>((resolve) => (flakyDone = resolve));
const effectRuns: string[] = [];
let slowStarted = false;
let slowFinished = false;

beforeAll(async () => {
  testDb = await createTestDatabase('jobs');
  await testDb.database.exec(`create table public.ledger (key text primary key, amount int not null)`);
  engine = createJobEngine({ database: testDb.database, schema: 'test_jobs', log, pollIntervalMs: 500, registry });
  engine.define<{ failures: number }>({
    name: 'flaky',
    retryLimit: 3,
    retryDelaySeconds: 1,
    handler: async (job) => {
      attempts.push({ at: Date.now(), retryCount: job.retryCount });
      if (job.retryCount < job.data.failures) throw new Error(`attempt ${job.retryCount} fails on purpose`);
      flakyDone(Date.now());
    },
  });
  engine.define<{ key: string; amount: number }>({
    name: 'credit',
    handler: async (job) => {
      // The effect and its key commit together; a second delivery of the same key finds it done.
      const outcome = await engine.once(`credit:${job.data.key}`, async (tx) => {
        await tx.execute(sql`insert into public.ledger (key, amount) values (${job.data.key}, ${job.data.amount})`);
      });
      effectRuns.push(`${job.data.key}:${outcome.ran}`);
    },
  });
  engine.define({ name: 'once-a-key', policy: 'short', handler: async () => {} });
  engine.define({
    name: 'slow',
    handler: async () => {
      slowStarted = true;
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      slowFinished = true;
    },
  });
  await engine.start();
}, 60_000);

afterAll(async () => {
  await engine?.stop(2_000);
  await testDb?.drop();
});


describe('adapter', () => {
  it('sends parameters as pg does (objects as JSON, arrays as array literals, booleans as booleans) and only numbered placeholders outside literals', () => {
    expect(pgText({ a: 1 })).toBe('{"a":1}');
    expect(pgText(false)).toBe(false);
    expect(pgText(['x', 'y"z', null])).toBe('{"x","y\\"z",NULL}');
    expect(pgText(new Date('2026-01-02T03:04:05.000Z'))).toBe('2026-01-02T03:04:05.000Z');
    const query = withParams(`select '$1 stays', $2::int, $1`, ['a', 7]);
    expect(query.queryChunks.length).toBeGreaterThan(3);
    expect(() => withParams('select $3', [1])).toThrow(/names \$3 but 1 values/);
  });
});

describe('job engine', () => {
  it('installs pg-boss in its own schema and creates the queues with their retry policy', async () => {
    const rows = await testDb.database.rows<{ name: string; retry_limit: number; retry_backoff: boolean }>(
      sql`select name, retry_limit, retry_backoff from test_jobs.queue where name not like '\_\_pgboss%' order by name`,
    );
    expect(rows.map((r) => [r.name, Number(r.retry_limit), r.retry_backoff])).toEqual([
      ['credit', 5, true],
      ['flaky', 3, true],
      ['once-a-key', 5, true],
      ['slow', 5, true],
    ]);
  });

  it('retries a failing job with growing backoff until it succeeds, and counts each outcome', async () => {
    const sentAt = Date.now();
    await engine.send('flaky', { failures: 2 });
    const finishedAt = await flakyFinished;
    expect(attempts.map((a) => a.retryCount)).toEqual([0, 1, 2]);
    // Backoff with retryDelay 1 s: retry 1 waits 1–2 s, retry 2 waits 2–4 s (plus polling).
    const gap1 = attempts[1]!.at - attempts[0]!.at;
    const gap2 = attempts[2]!.at - attempts[1]!.at;
    expect(gap1).toBeGreaterThanOrEqual(900);
    expect(gap2).toBeGreaterThanOrEqual(1_900);
    expect(finishedAt - sentAt).toBeLessThan(15_000);
    const state = await until('the flaky job to be completed', async () => {
      const rows = await testDb.database.rows<{ state: string }>(sql`select state::text from test_jobs.job where name = 'flaky'`);
      return rows[0]?.state === 'completed' ? rows[0].state : undefined;
    });
    expect(state).toBe('completed');
    const metrics = await registry.getSingleMetricAsString('suoke_jobs_total');
    expect(metrics).toContain('queue="flaky",outcome="retried"} 2');
    expect(metrics).not.toContain('queue="flaky",outcome="failed"');
    expect(metrics).toContain('queue="flaky",outcome="completed"} 1');
  }, 30_000);

  it('an effect keyed by idempotency runs once however many times its job is delivered', async () => {
    await engine.send('credit', { key: 'k1', amount: 5 });
    await engine.send('credit', { key: 'k1', amount: 5 });
    await engine.send('credit', { key: 'k2', amount: 7 });
    await until('three deliveries', () => (effectRuns.length >= 3 ? true : undefined));
    expect(effectRuns.filter((r) => r.startsWith('k1')).sort()).toEqual(['k1:false', 'k1:true']);
    const ledger = await testDb.database.rows<{ key: string; amount: number }>(sql`select key, amount from public.ledger order by key`);
    expect(ledger).toEqual([
      { key: 'k1', amount: 5 },
      { key: 'k2', amount: 7 },
    ]);
  }, 30_000);

  it('a job sent inside a transaction exists only if the transaction commits', async () => {
    await expect(
      testDb.database.db.transaction(async (tx) => {
        await engine.send('credit', { key: 'rolled-back', amount: 1 }, { tx });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await testDb.database.db.transaction(async (tx) => {
      await engine.send('credit', { key: 'committed', amount: 2 }, { tx });
    });
    await until('the committed job to run', () => (effectRuns.includes('committed:true') ? true : undefined));
    const jobs = await testDb.database.rows<{ key: string }>(sql`select data->>'key' as key from test_jobs.job where name = 'credit' and data->>'key' in ('rolled-back', 'committed')`);
    expect(jobs.map((j) => j.key)).toEqual(['committed']);
  }, 30_000);

  it('a singleton key keeps one waiting job per key', async () => {
    const later = new Date(Date.now() + 3_600_000);
    const first = await engine.send('once-a-key', {}, { startAfter: later, singletonKey: 'single' });
    const second = await engine.send('once-a-key', {}, { startAfter: later, singletonKey: 'single' });
    const other = await engine.send('once-a-key', {}, { startAfter: later, singletonKey: 'other' });
    expect(first).toMatch(/^[0-9a-f-]{36}$/);
    expect(second).toBeNull();
    expect(other).toMatch(/^[0-9a-f-]{36}$/);
  });

  // Last: it stops the engine.
  it('stops gracefully: a running job finishes and is recorded as completed before stop resolves', async () => {
    await engine.send('slow', {});
    await until('the slow job to start', () => (slowStarted ? true : undefined));
    await engine.stop(5_000);
    expect(slowFinished).toBe(true);
    const rows = await testDb.database.rows<{ state: string }>(sql`select state::text from test_jobs.job where name = 'slow'`);
    expect(rows).toEqual([{ state: 'completed' }]);
  }, 30_000);
});

import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobEngine, type JobEngine } from '../src/jobs/index.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase, until, type TestDatabase } from '../src/testing.js';

// suoke_jobs_oldest_queued_age_seconds on whichever backend the run has (DATABASE_URL: PostgreSQL, else PGlite).

let testDb: TestDatabase;
let engine: JobEngine;
const registry = new Registry();
const log = createLogger({ service: 'jobs-metrics-test', level: 'silent', format: 'json', nodeEnv: 'test' });
let release: () => void = () => {};
const gate = new Promise<void>((resolve) => (release = resolve));
let started = 0;
let finished = 0;

beforeAll(async () => {
  testDb = await createTestDatabase('jobsmetrics');
  engine = createJobEngine({ database: testDb.database, schema: 'metrics_jobs', log, pollIntervalMs: 500 });
  engine.metrics(registry);
  // One worker that holds its job until the gate opens: a second job has to wait in the queue.
  engine.define({
    name: 'blocked',
    concurrency: 1,
    handler: async () => {
      started += 1;
      await gate;
      finished += 1;
    },
  });
  engine.define({ name: 'idle', handler: async () => {} });
  await engine.start();
}, 60_000);

afterAll(async () => {
  release();
  await engine?.stop(2_000);
  await testDb?.drop();
});

async function ages(): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('suoke_jobs_oldest_queued_age_seconds')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.queue), v.value]));
}

describe('the oldest queued job per queue', () => {
  it('is 0 for every declared queue while nothing waits', async () => {
    expect(await ages()).toEqual({ blocked: 0, idle: 0 });
  });

  it('grows while a job waits for a busy worker, and is 0 again once it ran', async () => {
    await engine.send('blocked', { n: 1 });
    await until('the first job started', () => (started === 1 ? true : undefined));
    await engine.send('blocked', { n: 2 });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const waiting = await ages();
    expect(waiting.blocked).toBeGreaterThanOrEqual(1.4);
    expect(waiting.blocked).toBeLessThan(30);
    expect(waiting.idle).toBe(0);
    release();
    await until('both jobs ran', () => (finished === 2 ? true : undefined));
    expect((await ages()).blocked).toBe(0);
  }, 60_000);
});

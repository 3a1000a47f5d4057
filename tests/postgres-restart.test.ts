import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '@suoke/platform';
import { gatewayHeaders, TEST_GATEWAY_SECRET, testToken } from '@suoke/platform/testing';
import { definition } from '../subgraphs/health/src/server.js';
import { canStartPostgres, startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';

// Issue 8, failing parts (c): PostgreSQL restarted under an observation ingest
// loop. The health subgraph runs over HTTP against a PostgreSQL cluster of its
// own (spare port, temp dir), as the gateway would call it.

const RECORD = `mutation Record($input: [ObservationInput!]!) {
  recordObservations(input: $input) { inserted duplicates observations { externalId } }
}`;
const BATCH_SIZE = 10;
const CALLERS = 4;
/** Words that would reveal internals in an error a client sees. */
const INTERNALS = /postgres|ECONN|terminat|connection|socket|57P0|sql|select|insert|relation|\bat \S+:\d+|health\.|127\.0\.0\.1/i;

interface Batch {
  n: number;
  userId: string;
  input: { externalId: string; type: string; value: number; recordedAt: string; source: string }[];
  acked?: { inserted: number; duplicates: number; externalIds: string[] };
  /** What the client was told when the batch was not acknowledged. */
  errors: { status: number; code: string; message: string }[];
  attempts: number;
}

describe.skipIf(!canStartPostgres())('PostgreSQL restarted during an observation ingest loop', () => {
  let pg: PrivatePostgres;
  let database: Database;
  let subgraph: ReturnType<typeof definition.create>;
  let url: string;
  const tag = randomUUID().slice(0, 8);

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    database = await createDatabase({ service: 'health', url: pg.url, poolMax: 5 });
    await definition.migrate(database);
    const config = definition.loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', GATEWAY_SECRET: TEST_GATEWAY_SECRET, DATABASE_URL: pg.url });
    subgraph = definition.create({ config, database });
    url = (await subgraph.listen(0, '127.0.0.1')).url;
  });

  afterAll(async () => {
    await subgraph?.stop().catch(() => {});
    await database?.close().catch(() => {});
    pg?.stop();
  });

  function newBatch(n: number): Batch {
    const recordedAt = new Date(Date.now() - (n + 1) * 60_000).toISOString();
    return {
      n,
      // A user per batch: the per-user rate limit on recordObservations stays out of the picture.
      userId: randomUUID(),
      input: Array.from({ length: BATCH_SIZE }, (_, i) => ({
        externalId: `restart-${tag}-${n}-${i}`,
        type: 'HEART_RATE',
        value: 60 + i,
        recordedAt,
        source: 'restart-test',
      })),
      errors: [],
      attempts: 0,
    };
  }

  async function send(batch: Batch): Promise<boolean> {
    batch.attempts += 1;
    let status = 0;
    let body: { data?: { recordObservations?: { inserted: number; duplicates: number; observations: { externalId: string }[] } | null } | null; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...gatewayHeaders(), authorization: `Bearer ${await testToken({ id: batch.userId })}` },
        body: JSON.stringify({ query: RECORD, variables: { input: batch.input } }),
      });
      status = response.status;
      body = (await response.json()) as typeof body;
    } catch (error) {
      batch.errors.push({ status, code: 'CLIENT_FETCH_FAILED', message: error instanceof Error ? error.message : String(error) });
      return false;
    }
    const payload = body.data?.recordObservations;
    if (status === 200 && payload && !body.errors?.length) {
      batch.acked = { inserted: payload.inserted, duplicates: payload.duplicates, externalIds: payload.observations.map((o) => o.externalId) };
      return true;
    }
    for (const error of body.errors ?? [{ message: '(no errors and no data)', extensions: {} }]) {
      batch.errors.push({ status, code: String(error.extensions?.code), message: error.message });
    }
    return false;
  }

  it('keeps every acknowledged batch, reports the others as errors, and a retry stores nothing twice', async () => {
    const batches: Batch[] = [];
    let next = 0;
    let restartStarted = false;
    let restartDone = 0;
    const restart = async () => {
      restartStarted = true;
      await pg.restart();
      restartDone = Date.now();
    };
    let restarting: Promise<void> | undefined;
    const start = Date.now();
    // Bounded: at most 600 batches, and the loop ends 1.5 s after PostgreSQL is back.
    const caller = async () => {
      while (next < 600 && !(restartDone && Date.now() - restartDone > 1_500) && Date.now() - start < 45_000) {
        const batch = newBatch(next++);
        batches.push(batch);
        await send(batch);
        if (!restartStarted && batches.filter((b) => b.acked).length >= 20) restarting = restart();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
    await restarting;
    expect(restartDone).toBeGreaterThan(0);

    const ackedFirstTime = batches.filter((b) => b.acked);
    const unacked = batches.filter((b) => !b.acked);
    const outageErrors = unacked.flatMap((b) => b.errors);

    // The retry: every unacknowledged batch again, until acknowledged.
    for (const batch of unacked) {
      for (let attempt = 0; attempt < 20 && !(await send(batch)); attempt += 1) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const stillUnacked = batches.filter((b) => !b.acked);

    const check = postgres(pg.url, { max: 1, onnotice: () => {} });
    let stored: { user_id: string; external_id: string; copies: number }[];
    let keys: number;
    try {
      stored = await check`
        select user_id::text, external_id, count(*)::int as copies
        from health.observations where source = 'restart-test' group by user_id, external_id`;
      [{ keys }] = (await check`select count(*)::int as keys from health.observation_keys`) as unknown as [{ keys: number }];
    } finally {
      await check.end();
    }
    const copies = new Map(stored.map((row) => [`${row.user_id}/${row.external_id}`, row.copies]));
    const storedFor = (b: Batch) => b.input.map((o) => copies.get(`${b.userId}/${o.externalId}`) ?? 0);

    const retriedDuplicates = unacked.reduce((sum, b) => sum + (b.acked?.duplicates ?? 0), 0);
    console.log(
      `postgres restart: batches ${batches.length} (x${BATCH_SIZE} observations), acked first time ${ackedFirstTime.length}, ` +
        `errored ${unacked.length} (${outageErrors.length} errors: ${[...new Set(outageErrors.map((e) => `${e.status} ${e.code}`))].join(', ')}), ` +
        `retried ${unacked.length} in ${unacked.reduce((sum, b) => sum + b.attempts - 1, 0)} attempts (duplicates reported on retry: ${retriedDuplicates}), ` +
        `still unacked ${stillUnacked.length}, stored rows ${stored.reduce((sum, r) => sum + r.copies, 0)}, distinct ${stored.length}, keys ${keys}`,
    );

    // The restart really interrupted the loop, and the ingest recovered after it.
    expect(unacked.length).toBeGreaterThan(0);
    expect(stillUnacked).toEqual([]);
    // Errors a client saw during the outage: a stable code, a generic message, no internals.
    for (const error of outageErrors) {
      expect(error.code === 'INTERNAL_SERVER_ERROR' || error.code === 'SERVICE_UNAVAILABLE', `${error.status} ${error.code}: ${error.message}`).toBe(true);
      expect(error.message).not.toMatch(INTERNALS);
    }
    // Every acknowledged batch is there, each observation exactly once.
    for (const batch of ackedFirstTime) {
      expect(batch.acked!.inserted).toBe(BATCH_SIZE);
      expect(storedFor(batch)).toEqual(batch.input.map(() => 1));
    }
    // Retried batches: acknowledged in full (what an earlier, unanswered attempt stored counts as duplicates), stored once.
    for (const batch of unacked) {
      expect(batch.acked!.inserted + batch.acked!.duplicates).toBe(BATCH_SIZE);
      expect(storedFor(batch)).toEqual(batch.input.map(() => 1));
    }
    expect(stored.length).toBe(batches.length * BATCH_SIZE);
    expect(stored.every((row) => row.copies === 1)).toBe(true);
    expect(keys).toBe(batches.length * BATCH_SIZE);

    // The pool reconnected: the subgraph reports ready again.
    const ready = await fetch(new URL('/health/ready', url));
    expect(ready.status).toBe(200);
  });
});

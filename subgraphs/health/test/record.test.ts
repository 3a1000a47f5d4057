import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, heartRates, RECORD, startHealth, type Health, type RecordResult } from './harness.js';

/** The start of the UTC month `offset` months from now, and its partition's name. */
const monthStart = (offset: number) => {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
};
const partitionName = (offset: number) => {
  const d = monthStart(offset);
  return `observations_${d.getUTCFullYear()}_${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
};

let health: Health;
beforeAll(async () => {
  health = await startHealth();
});
afterAll(async () => {
  await health?.close();
});

const newUser = () => ({ id: randomUUID() });

describe('recordObservations', () => {
  it('stores a batch once; replaying it stores nothing and counts duplicates', async () => {
    const user = newUser();
    const input = [
      ...heartRates(3, { prefix: 'replay-hr' }),
      { externalId: 'replay-bp', type: 'BLOOD_PRESSURE', value: 120, diastolic: 80, recordedAt: new Date().toISOString(), source: ' omron ' },
    ];
    const first = await health.gql<RecordResult>(RECORD, { input }, user);
    expect(first.errors).toBeUndefined();
    expect(first.data?.recordObservations).toMatchObject({ inserted: 4, duplicates: 0 });
    const stored = first.data!.recordObservations!.observations;
    expect(stored.map((o) => o.externalId)).toEqual(input.map((i) => i.externalId));
    expect(stored[3]).toMatchObject({ type: 'BLOOD_PRESSURE', value: 120, diastolic: 80, unit: 'mmHg', source: 'omron' });
    expect(stored[0]).toMatchObject({ type: 'HEART_RATE', unit: 'bpm', diastolic: null, source: null });
    expect(new Date(stored[0]!.recordedAt).toISOString()).toBe(input[0]!.recordedAt);

    const replay = await health.gql<RecordResult>(RECORD, { input }, user);
    expect(replay.data?.recordObservations).toMatchObject({ inserted: 0, duplicates: 4, observations: [] });

    // A partly new batch stores only the new item.
    const mixed = await health.gql<RecordResult>(RECORD, { input: [...input, ...heartRates(1, { prefix: 'replay-new' })] }, user);
    expect(mixed.data?.recordObservations).toMatchObject({ inserted: 1, duplicates: 4 });

    // The same externalId belongs to each user separately.
    const other = await health.gql<RecordResult>(RECORD, { input }, newUser());
    expect(other.data?.recordObservations).toMatchObject({ inserted: 4, duplicates: 0 });
  });

  it('concurrent replays of one batch store each observation once', async () => {
    const user = newUser();
    const input = heartRates(50, { prefix: 'race' });
    const results = await Promise.all([1, 2, 3].map(() => health.gql<RecordResult>(RECORD, { input }, user)));
    const payloads = results.map((r) => r.data?.recordObservations);
    expect(payloads.reduce((sum, p) => sum + (p?.inserted ?? 0), 0)).toBe(50);
    expect(payloads.reduce((sum, p) => sum + (p?.duplicates ?? 0), 0)).toBe(100);
    const rows = await health.database.rows<{ n: number }>(sql`select count(*)::int as n from "health".observations where user_id = ${user.id}::uuid`);
    expect(rows[0]?.n).toBe(50);
  });

  it('refuses an out-of-range item, naming it, and stores nothing of the batch', async () => {
    const user = newUser();
    const before = await countRows(health.database, 'observations');
    const input = heartRates(5, { prefix: 'range' });
    input[3] = { ...input[3]!, value: 300 };
    const result = await health.gql<RecordResult>(RECORD, { input }, user);
    expect(Object.values(result.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
    const [error] = result.errors ?? [];
    expect(error?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input[3].value' });
    expect(error?.message).toContain('input[3]');
    expect(error?.message).toContain('"range-3"');
    expect(error?.message).toContain('HEART_RATE');
    expect(error?.message).toContain('20–250 bpm');
    expect(error?.message).toContain('received 300');
    expect(await countRows(health.database, 'observations')).toBe(before);
    const keys = await health.database.rows<{ n: number }>(sql`select count(*)::int as n from "health".observation_keys where user_id = ${user.id}::uuid`);
    expect(keys[0]?.n).toBe(0);
  });

  it.each([
    ['missing diastolic', { type: 'BLOOD_PRESSURE', value: 120 }, 'input[0].diastolic', 'diastolic is required'],
    ['diastolic not below systolic', { type: 'BLOOD_PRESSURE', value: 100, diastolic: 100 }, 'input[0].diastolic', 'below the systolic'],
    ['diastolic out of range', { type: 'BLOOD_PRESSURE', value: 200, diastolic: 170 }, 'input[0].diastolic', '30–160 mmHg'],
    ['diastolic on another type', { type: 'WEIGHT', value: 70, diastolic: 60 }, 'input[0].diastolic', 'only for BLOOD_PRESSURE'],
    ['fractional steps', { type: 'STEPS', value: 10.5 }, 'input[0].value', 'whole number'],
    ['empty externalId', { type: 'SLEEP', value: 400, externalId: '' }, 'input[0].externalId', '1–128 characters'],
    ['long externalId', { type: 'SLEEP', value: 400, externalId: 'x'.repeat(129) }, 'input[0].externalId', 'received 129'],
    ['long source', { type: 'SLEEP', value: 400, source: 's'.repeat(65) }, 'input[0].source', 'at most 64'],
    ['future recordedAt', { type: 'SLEEP', value: 400, recordedAt: new Date(Date.now() + 10 * 60_000).toISOString() }, 'input[0].recordedAt', '5 minutes'],
    ['ancient recordedAt', { type: 'SLEEP', value: 400, recordedAt: '1999-12-31T23:59:59Z' }, 'input[0].recordedAt', '(24 months back) to 5 minutes after now'],
  ])('refuses %s', async (_name, item, field, message) => {
    const input = [{ externalId: 'one', recordedAt: new Date().toISOString(), ...item }];
    const result = await health.gql<RecordResult>(RECORD, { input }, newUser());
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    expect(result.errors?.[0]?.message).toContain(message);
  });

  it('lists every invalid item of a batch, pointing at the first', async () => {
    const input = heartRates(4, { prefix: 'multi' });
    input[1] = { ...input[1]!, value: 10 };
    input[2] = { ...input[2]!, type: 'WEIGHT', value: 500 };
    const result = await health.gql<RecordResult>(RECORD, { input }, newUser());
    expect(result.errors?.[0]?.extensions?.field).toBe('input[1].value');
    expect(result.errors?.[0]?.message).toMatch(/^2 of 4 observations are invalid/);
    expect(result.errors?.[0]?.message).toContain('input[2] (externalId "multi-2", WEIGHT): value must be 2–400 kg; received 500');
  });

  it('refuses the same externalId twice in one batch', async () => {
    const input = [...heartRates(3, { prefix: 'dup' }), { ...heartRates(1, { prefix: 'dup' })[0]! }];
    const result = await health.gql<RecordResult>(RECORD, { input }, newUser());
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input[3].externalId' });
    expect(result.errors?.[0]?.message).toContain('input[0]');
  });

  it('refuses empty batches and batches over 1000 items', async () => {
    const user = newUser();
    const before = await countRows(health.database, 'observations');
    for (const size of [0, 1001]) {
      const result = await health.gql<RecordResult>(RECORD, { input: heartRates(size, { prefix: `size${size}`, stepMs: 1000 }) }, user);
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input' });
      expect(result.errors?.[0]?.message).toContain(`received ${size}`);
    }
    expect(await countRows(health.database, 'observations')).toBe(before);
  });

  it('requires a signed-in caller', async () => {
    const result = await health.gql<RecordResult>(RECORD, { input: heartRates(1) });
    expect(Object.values(result.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('routes rows to the monthly partitions prepared ahead, creating none', async () => {
    const user = newUser();
    // Three months of the past year, inside the default window (24 months).
    const input = [
      { externalId: 'p1', type: 'WEIGHT', value: 70, recordedAt: new Date(monthStart(-11).getTime() - 1).toISOString() },
      { externalId: 'p2', type: 'WEIGHT', value: 71, recordedAt: monthStart(-11).toISOString() },
      { externalId: 'p3', type: 'WEIGHT', value: 72, recordedAt: new Date(monthStart(-10).getTime() + 14.5 * 86_400_000).toISOString() },
      { externalId: 'p4', type: 'WEIGHT', value: 73, recordedAt: new Date(monthStart(-10).getTime() + 15.5 * 86_400_000).toISOString() },
    ];
    const names = [partitionName(-12), partitionName(-11), partitionName(-10)];
    const exists = () =>
      health.database.rows<{ name: string; found: string | null }>(
        sql`select name, to_regclass('"health".' || name)::text as found from unnest(${sql.param(names)}::text[]) as name`,
      );
    // The migration made them, before any write.
    expect((await exists()).every((r) => r.found !== null)).toBe(true);

    const result = await health.gql<RecordResult>(RECORD, { input }, user);
    expect(result.data?.recordObservations?.inserted).toBe(4);

    const partitions = await health.database.rows<{ name: string }>(sql`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = '"health".observations'::regclass order by 1`);
    expect(partitions.map((p) => p.name)).toEqual(expect.arrayContaining(names));
    const routed = await health.database.rows<{ external_id: string; partition: string }>(sql`
      select external_id, tableoid::regclass::text as partition from "health".observations
      where user_id = ${user.id}::uuid order by external_id`);
    expect(routed.map((r) => [r.external_id, r.partition.replace(/^health\./, '')])).toEqual([
      ['p1', names[0]],
      ['p2', names[1]],
      ['p3', names[2]],
      ['p4', names[2]],
    ]);
  });

  it('concurrent batches needing the same new partitions all succeed', async () => {
    const months = [-9, -8, -7].map((offset) => new Date(monthStart(offset).getTime() + 9 * 86_400_000).toISOString());
    const batch = (prefix: string) => months.map((recordedAt, i) => ({ externalId: `${prefix}-${i}`, type: 'SLEEP', value: 420, recordedAt }));
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((prefix) => health.gql<RecordResult>(RECORD, { input: batch(prefix) }, newUser())));
    for (const result of results) expect(result.data?.recordObservations?.inserted).toBe(3);
  });

  it('uses the same number of SQL statements for 10 and 1000 items', async () => {
    const user = newUser();
    const at = new Date(Date.now() - 60_000);
    const small = await health.countStatements(() => health.gql<RecordResult>(RECORD, { input: heartRates(10, { prefix: 's', at, stepMs: 1000 }) }, user));
    // The large batch spans three months.
    const large = await health.countStatements(() =>
      health.gql<RecordResult>(RECORD, { input: heartRates(1000, { prefix: 'l', at: new Date(monthStart(-14).getTime() - 86_400_000), stepMs: 7_776_000 }) }, user),
    );
    expect(small.result.data?.recordObservations?.inserted).toBe(10);
    expect(large.result.data?.recordObservations?.inserted).toBe(1000);
    expect(large.statements).toBe(small.statements);
    // The ingest (at most 2) and the audit INSERT, whose ids travel as one array parameter.
    expect(small.statements).toBeLessThanOrEqual(3);
    console.info(`recordObservations statements: 10 items → ${small.statements}, 1000 items → ${large.statements}`);
  });
});

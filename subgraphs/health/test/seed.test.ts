import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/migrate.js';
import { seedHealth } from '../src/seed.js';
import { checkMeasurement } from '../src/service/observation-types.js';
import { countRows, startHealth, type Health } from './harness.js';

let health: Health;
beforeAll(async () => {
  health = await startHealth();
});
afterAll(async () => {
  await health?.close();
});

describe('seedHealth', () => {
  const now = new Date('2026-03-02T23:30:00Z');

  it('writes a week per user, idempotently, in batched statements', async () => {
    const two = [randomUUID(), randomUUID()];
    const twenty = Array.from({ length: 20 }, () => randomUUID());

    const first = await health.countStatements(() => seedHealth(health.database, { userIds: two, now }));
    // 7 days × (4 heart rates + blood pressure + sleep + weight + steps) per user.
    expect(first.result).toEqual({ inserted: 2 * 7 * 8, duplicates: 0, profiles: 2 });
    const many = await health.countStatements(() => seedHealth(health.database, { userIds: twenty, now }));
    expect(many.result.inserted).toBe(20 * 7 * 8);
    expect(many.statements).toBe(first.statements);
    console.info(`seedHealth statements: 2 users → ${first.statements}, 20 users → ${many.statements}`);

    const again = await seedHealth(health.database, { userIds: [...two, ...twenty], now });
    expect(again).toEqual({ inserted: 0, duplicates: 22 * 56, profiles: 0 });
    expect(await countRows(health.database, 'observations')).toBe(22 * 56);

    // A day later only the new day is added.
    const nextDay = await seedHealth(health.database, { userIds: two, now: new Date(now.getTime() + 86_400_000) });
    expect(nextDay.inserted).toBe(2 * 8);
  });

  it('writes plausible values with deterministic externalIds, never in the future', async () => {
    const userId = randomUUID();
    const morning = new Date('2026-03-10T09:00:00Z');
    await seedHealth(health.database, { userIds: [userId], now: morning, days: 2 });
    const rows = await health.database.rows<{ type: string; value: number; diastolic: number | null; external_id: string; recorded_at: string }>(sql`
      select type, value, diastolic, external_id, to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as recorded_at
      from "health".observations where user_id = ${userId}::uuid order by recorded_at, external_id`);
    for (const row of rows) {
      expect(checkMeasurement(row.type, row.value, row.diastolic)).toBeUndefined();
      expect(Date.parse(row.recorded_at)).toBeLessThanOrEqual(morning.getTime());
    }
    // Yesterday in full (8) and this morning up to 09:00: sleep 06:30, heart rate 07:00, weight 07:30, blood pressure 08:00.
    expect(rows.map((r) => r.external_id)).toContain('seed-2026-03-09-STEPS-0');
    expect(rows.filter((r) => r.external_id.startsWith('seed-2026-03-10')).map((r) => r.external_id)).toEqual([
      'seed-2026-03-10-SLEEP-0',
      'seed-2026-03-10-HEART_RATE-0',
      'seed-2026-03-10-WEIGHT-0',
      'seed-2026-03-10-BLOOD_PRESSURE-0',
    ]);
    expect(rows).toHaveLength(12);
  });

  it('refuses ids that are not UUIDs', async () => {
    await expect(seedHealth(health.database, { userIds: ['nope'] })).rejects.toThrow(/UUIDs; received nope/);
  });
});

describe('migrate', () => {
  it('is idempotent', async () => {
    const result = await migrate(health.database);
    expect(result.applied).toEqual([]);
    expect(result.skipped).toEqual(['0001_health.sql', '0003_observation_partitions.sql', 'audit/0001_audit.sql', 'audit/0002_audit_subject.sql']);
  });
});

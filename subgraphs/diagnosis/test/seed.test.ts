import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectMethodResults, toMethodResults } from '../src/db/queries.js';
import { consultations, reports } from '../src/db/schema.js';
import { migrate } from '../src/migrate.js';
import { seedDiagnosis, seedUuid } from '../src/seed.js';
import { reportFromResults } from '../src/service/report.js';
import { countRows, startDiagnosis, type Diagnosis } from './harness.js';

let diagnosis: Diagnosis;
beforeAll(async () => {
  diagnosis = await startDiagnosis();
});
afterAll(async () => {
  await diagnosis?.close();
});

describe('seedDiagnosis', () => {
  const now = new Date('2026-11-20T08:00:00Z');

  it('gives every user two completed consultations with reports, idempotently, in batched statements', async () => {
    const two = [randomUUID(), randomUUID()];
    const twenty = Array.from({ length: 20 }, () => randomUUID());

    const first = await diagnosis.countStatements(() => seedDiagnosis(diagnosis.database, { userIds: two, now }));
    expect(first.result).toEqual({ consultations: 4, reports: 4 });
    const many = await diagnosis.countStatements(() => seedDiagnosis(diagnosis.database, { userIds: twenty, now }));
    expect(many.result).toEqual({ consultations: 40, reports: 40 });
    console.info(`seedDiagnosis statements: 2 users → ${first.statements}, 20 users → ${many.statements}`);
    expect(many.statements).toBe(first.statements);
    // The questionnaire, then consultations, method results and reports.
    expect(first.statements).toBe(4);

    const again = await seedDiagnosis(diagnosis.database, { userIds: [...two, ...twenty], now: new Date() });
    expect(again).toEqual({ consultations: 0, reports: 0 });
    expect(await countRows(diagnosis.database, 'consultations')).toBe(44);
    expect(await countRows(diagnosis.database, 'reports')).toBe(44);
    // Older: inquiry + inspection; newer: all four methods.
    expect(await countRows(diagnosis.database, 'method_results')).toBe(22 * (2 + 4));
  });

  it('stores reports that the synthesis code reproduces from the stored results', async () => {
    const userId = randomUUID();
    await seedDiagnosis(diagnosis.database, { userIds: [userId], now });
    const rows = await diagnosis.database.db.select().from(consultations).where(eq(consultations.userId, userId));
    expect(rows.map((r) => r.status)).toEqual(['COMPLETED', 'COMPLETED']);
    for (const row of rows) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.completedAt!.getTime()).toBeGreaterThan(row.startedAt.getTime());
      expect(row.startedAt.getTime()).toBeLessThan(now.getTime());
      const [report] = await diagnosis.database.db.select().from(reports).where(eq(reports.consultationId, row.id));
      const results = toMethodResults(await selectMethodResults(diagnosis.database, [row.id]));
      const recomputed = reportFromResults(results, row.id);
      expect(report).toMatchObject({ ...recomputed, userId, createdAt: row.completedAt });
    }
    expect(rows.map((r) => r.id).sort()).toEqual([seedUuid(`${userId}:1`), seedUuid(`${userId}:2`)].sort());
  });

  it('spreads users over constitutions and agents', async () => {
    const primaries = await diagnosis.database.db.selectDistinct({ code: reports.primaryConstitution }).from(reports);
    expect(primaries.length).toBeGreaterThanOrEqual(5);
    const agents = await diagnosis.database.db.selectDistinct({ agent: consultations.agentId }).from(consultations);
    expect(agents.length).toBeGreaterThanOrEqual(3);
  });

  it('refuses ids that are not UUIDs', async () => {
    await expect(seedDiagnosis(diagnosis.database, { userIds: ['nope'] })).rejects.toThrow(/UUIDs; received nope/);
  });
});

describe('migrate', () => {
  it('is idempotent', async () => {
    const result = await migrate(diagnosis.database);
    expect(result.applied).toEqual([]);
    expect(result.skipped).toEqual(['0001_diagnosis.sql', '0002_questionnaire.sql', '0003_report_saga.sql', '0006_media.sql', 'audit/0001_audit.sql', 'audit/0002_audit_subject.sql']);
    expect(await countRows(diagnosis.database, 'questions')).toBe(66);
  });
});

import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { createLogger } from '@suoke/platform';
import { ReportSaga } from '../src/service/saga.js';
import { classifyStepError } from '../src/service/saga-steps.js';
import { QUESTIONNAIRE, answersLeaningTo, codes, fakeSteps, startDiagnosis, stepError, type Diagnosis, type QuestionView } from './harness.js';

// The consultation follow-up saga with its two remote steps replaced by
// recording doubles: order, keys, retries, compensation, retry, and a runner
// that dies mid-saga and is taken over by another.

const LEASE_MS = 2500;
let diagnosis: Diagnosis;
let questions: QuestionView[];
const fake = fakeSteps();
const owner = { id: randomUUID() };
const silent = createLogger({ service: 'saga-test', level: 'silent' });

beforeAll(async () => {
  diagnosis = await startDiagnosis({ steps: fake.steps, env: { SAGA_LEASE_MS: String(LEASE_MS), SAGA_WAIT_MS: '800', SAGA_STEP_ATTEMPTS: '3' } });
  questions = (await diagnosis.gql<{ constitutionQuestionnaire: QuestionView[] }>(QUESTIONNAIRE)).data!.constitutionQuestionnaire;
});
afterAll(async () => {
  await diagnosis?.close();
});
beforeEach(() => {
  fake.calls.length = 0;
  for (const map of [fake.behaviour, fake.compensation]) for (const key of Object.keys(map)) delete map[key as keyof typeof map];
});

const REPORT = 'id status statusReason primaryConstitution { code }';

async function complete(): Promise<{ status: string; statusReason: string | null; id: string }> {
  const started = await diagnosis.gql<any>('mutation { startConsultation { id } }', {}, owner);
  const id = started.data!.startConsultation.id as string;
  const inquiry = await diagnosis.gql<any>('mutation ($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers: answersLeaningTo(questions, 'QI_DEFICIENT') } }, owner);
  expect(inquiry.errors).toBeUndefined();
  const completed = await diagnosis.gql<any>(`mutation ($id: ID!) { completeConsultation(id: $id) { status report { ${REPORT} } } }`, { id }, owner);
  expect(completed.errors).toBeUndefined();
  expect(completed.data!.completeConsultation.status).toBe('COMPLETED');
  return completed.data!.completeConsultation.report;
}

async function sagaRow(reportId: string) {
  const [row] = await diagnosis.database.rows<{ state: string; attempt: number; reason: string | null; lease_token: string | null }>(
    sql`select state, attempt, reason, lease_token::text from "diagnosis".report_sagas where report_id = ${reportId}`,
  );
  return row;
}

async function stepRows(reportId: string) {
  return diagnosis.database.rows<{ attempt: number; step: string; status: string }>(
    sql`select attempt, step, status from "diagnosis".report_saga_steps where report_id = ${reportId} order by attempt, step`,
  );
}

async function reportStatus(reportId: string): Promise<{ status: string; statusReason: string | null }> {
  const result = await diagnosis.gql<any>(`{ consultation: _entities(representations: [{ __typename: "User", id: "${owner.id}" }]) { ... on User { latestReport { id status statusReason } } } }`, {}, owner);
  expect(result.errors).toBeUndefined();
  const latest = result.data!.consultation[0].latestReport;
  expect(latest.id).toBe(reportId);
  return latest;
}

/**
 * The report once its saga has run to an end (not PENDING, lease released). The mutations wait only
 * SAGA_WAIT_MS for it, so on a busy machine they may answer PENDING first; the outcome is what is tested.
 */
async function settled(reportId: string, expectEnd: (row: Awaited<ReturnType<typeof sagaRow>>) => boolean = (row) => row?.state !== 'RUNNING' && row?.state !== 'PENDING') {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const row = await sagaRow(reportId);
    if ((row && row.lease_token === null && expectEnd(row)) || Date.now() > deadline) return { row, report: await reportStatus(reportId) };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the report saga', () => {
  it('explains, notifies and publishes: each step once, in order, with keys per report, attempt and step', async () => {
    const report = await complete();
    expect(report).toMatchObject({ statusReason: null, primaryConstitution: { code: 'QI_DEFICIENT' } });
    expect((await settled(report.id)).report).toMatchObject({ status: 'PUBLISHED', statusReason: null });
    expect(fake.calls).toEqual([
      { step: 'EXPLAIN', action: 'run', key: `report:${report.id}:1:explain`, reportId: report.id },
      { step: 'NOTIFY', action: 'run', key: `report:${report.id}:1:notify`, reportId: report.id },
    ]);
    expect(await sagaRow(report.id)).toMatchObject({ state: 'PUBLISHED', attempt: 1, lease_token: null });
    expect(await stepRows(report.id)).toEqual([
      { attempt: 1, step: 'EXPLAIN', status: 'DONE' },
      { attempt: 1, step: 'NOTIFY', status: 'DONE' },
    ]);
  });

  it('retries a transient failure within the step', async () => {
    let failures = 2;
    fake.behaviour.NOTIFY = async () => {
      if (failures-- > 0) throw stepError(true);
      return { id: 'n1' };
    };
    const report = await complete();
    expect((await settled(report.id)).report.status).toBe('PUBLISHED');
    expect(fake.calls.map((c) => `${c.step}:${c.action}`)).toEqual(['EXPLAIN:run', 'NOTIFY:run', 'NOTIFY:run', 'NOTIFY:run']);
    expect(new Set(fake.calls.filter((c) => c.step === 'NOTIFY').map((c) => c.key)).size).toBe(1);
  });

  it('a step that fails for good: the steps begun are compensated in reverse order and the report is FAILED with a reason', async () => {
    fake.behaviour.NOTIFY = async () => {
      throw stepError(false);
    };
    const report = await complete();
    expect(['FAILED', 'PENDING']).toContain(report.status);
    expect((await settled(report.id)).report).toMatchObject({ status: 'FAILED', statusReason: 'NOTIFY failed' });
    // A refusal is not retried; the step whose outcome is unknown is compensated too (its compensation is idempotent).
    expect(fake.calls.map((c) => `${c.step}:${c.action}`)).toEqual(['EXPLAIN:run', 'NOTIFY:run', 'NOTIFY:compensate', 'EXPLAIN:compensate']);
    expect(fake.calls.find((c) => c.step === 'EXPLAIN' && c.action === 'compensate')?.key).toBe(`report:${report.id}:1:explain`);
    expect(await sagaRow(report.id)).toMatchObject({ state: 'FAILED', reason: 'NOTIFY failed' });
    expect(await stepRows(report.id)).toEqual([
      { attempt: 1, step: 'EXPLAIN', status: 'COMPENSATED' },
      { attempt: 1, step: 'NOTIFY', status: 'COMPENSATED' },
    ]);

    // retryReport runs the saga again as attempt 2, with fresh keys.
    delete fake.behaviour.NOTIFY;
    fake.calls.length = 0;
    const retried = await diagnosis.gql<any>(`mutation ($id: ID!) { retryReport(id: $id) { ${REPORT} } }`, { id: report.id }, owner);
    expect(retried.errors).toBeUndefined();
    expect(retried.data!.retryReport).toMatchObject({ id: report.id, statusReason: null });
    expect(['PUBLISHED', 'PENDING']).toContain(retried.data!.retryReport.status);
    expect((await settled(report.id, (row) => row?.state === 'PUBLISHED')).report).toEqual({ id: report.id, status: 'PUBLISHED', statusReason: null });
    expect(fake.calls.map((c) => c.key)).toEqual([`report:${report.id}:2:explain`, `report:${report.id}:2:notify`]);

    // Only a FAILED report of the caller's can be retried.
    const again = await diagnosis.gql<any>(`mutation ($id: ID!) { retryReport(id: $id) { id } }`, { id: report.id }, owner);
    expect(codes(again)).toEqual(['CONFLICT']);
    const foreign = await diagnosis.gql<any>(`mutation ($id: ID!) { retryReport(id: $id) { id } }`, { id: report.id }, { id: randomUUID() });
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    const anonymous = await diagnosis.gql<any>(`mutation ($id: ID!) { retryReport(id: $id) { id } }`, { id: report.id });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
  });

  it('a compensation that cannot run yet leaves the report PENDING; a later sweep finishes it FAILED', async () => {
    fake.behaviour.EXPLAIN = async () => {
      throw stepError(false);
    };
    fake.compensation.EXPLAIN = async () => {
      throw stepError(true);
    };
    const report = await complete();
    expect(report.status).toBe('PENDING');
    // The runner gives up on the compensation after its attempts and releases the lease.
    expect((await settled(report.id, (row) => row?.state === 'COMPENSATING')).row).toMatchObject({ state: 'COMPENSATING', lease_token: null });

    delete fake.compensation.EXPLAIN;
    const other = new ReportSaga({ database: diagnosis.database, steps: fake.steps, policy: { attempts: 3, baseDelayMs: 1, leaseMs: LEASE_MS, sweepMs: 0 }, log: silent, classify: classifyStepError });
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 100));
    expect(await other.sweep()).toBeGreaterThanOrEqual(1);
    expect(await reportStatus(report.id)).toMatchObject({ status: 'FAILED', statusReason: 'EXPLAIN failed' });
  });

  it('a runner that dies mid-saga: another takes over when the lease lapses, repeats only the unfinished step under the same key, and the dead one can no longer write', async () => {
    let releaseHang: (value: unknown) => void = () => {};
    fake.behaviour.NOTIFY = () => new Promise((resolve) => (releaseHang = resolve));
    onTestFinished(() => releaseHang({ id: 'late' }));
    const report = await complete(); // answers after SAGA_WAIT_MS with the saga stuck in NOTIFY
    expect(report.status).toBe('PENDING');
    expect(await stepRows(report.id)).toEqual([
      { attempt: 1, step: 'EXPLAIN', status: 'DONE' },
      { attempt: 1, step: 'NOTIFY', status: 'STARTED' },
    ]);

    // "Another process": a second runner over the same database, with working steps.
    const survivor = fakeSteps();
    const other = new ReportSaga({ database: diagnosis.database, steps: survivor.steps, policy: { attempts: 3, baseDelayMs: 1, leaseMs: LEASE_MS, sweepMs: 0 }, log: silent, classify: classifyStepError });
    expect(await other.sweep()).toBe(0); // the lease is still held
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 100));
    expect(await other.sweep()).toBe(1);
    expect(survivor.calls).toEqual([{ step: 'NOTIFY', action: 'run', key: `report:${report.id}:1:notify`, reportId: report.id }]);
    expect(await reportStatus(report.id)).toMatchObject({ status: 'PUBLISHED' });

    // The stalled runner wakes up: its writes name a lease that is gone, so nothing changes.
    releaseHang({ id: 'late' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await sagaRow(report.id)).toMatchObject({ state: 'PUBLISHED', attempt: 1 });
    expect(await stepRows(report.id)).toEqual([
      { attempt: 1, step: 'EXPLAIN', status: 'DONE' },
      { attempt: 1, step: 'NOTIFY', status: 'DONE' },
    ]);
    expect(await reportStatus(report.id)).toMatchObject({ status: 'PUBLISHED' });
  });

  it('the report and its saga are written together: completing fails as a whole or not at all', async () => {
    const [counts] = await diagnosis.database.rows<{ reports: number; sagas: number }>(
      sql`select (select count(*)::int from "diagnosis".reports) as reports, (select count(*)::int from "diagnosis".report_sagas) as sagas`,
    );
    expect(counts!.sagas).toBe(counts!.reports);
  });
});

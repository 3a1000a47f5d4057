import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError } from '@suoke/platform';
import { loadDiagnosisConfig } from '../src/config.js';
import type { ReportSaga } from '../src/service/saga.js';
import { QUESTIONNAIRE, answersLeaningTo, fakeSteps, refuseSagaClaims, startDiagnosis, type Diagnosis, type QuestionView } from './harness.js';

// completeConsultation never reports failure for a completion that committed:
// a saga slower than the wait answers PENDING, and a database error when the
// saga is claimed answers PENDING too, the sweep finishing the report later.

let diagnosis: Diagnosis;
let questions: QuestionView[];
const fake = fakeSteps();
const owner = { id: randomUUID() };

beforeAll(async () => {
  // The gateway's budget for diagnosis is 2 s here: the saga wait becomes 600 ms.
  diagnosis = await startDiagnosis({ steps: fake.steps, env: { SUBGRAPH_DIAGNOSIS_TIMEOUT_MS: '2000', SAGA_LEASE_MS: '1000' } });
  questions = (await diagnosis.gql<{ constitutionQuestionnaire: QuestionView[] }>(QUESTIONNAIRE)).data!.constitutionQuestionnaire;
});
afterAll(async () => {
  await diagnosis?.close();
});
beforeEach(() => {
  fake.calls.length = 0;
  delete fake.behaviour.EXPLAIN;
});

const saga = () => (diagnosis.subgraph as unknown as { saga: ReportSaga }).saga;

async function complete() {
  const started = await diagnosis.gql<any>('mutation { startConsultation { id } }', {}, owner);
  const id = started.data!.startConsultation.id as string;
  const inquiry = await diagnosis.gql<any>('mutation ($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers: answersLeaningTo(questions, 'QI_DEFICIENT') } }, owner);
  expect(inquiry.errors).toBeUndefined();
  const completed = await diagnosis.gql<any>('mutation ($id: ID!) { completeConsultation(id: $id) { id status report { id status } } }', { id }, owner);
  return { id, completed };
}

/** Reads the consultation's report until its status is not PENDING (the client's polling), at most ~10 s. */
async function pollReport(id: string): Promise<{ status: string; seen: string[] }> {
  const seen: string[] = [];
  for (let i = 0; i < 100; i += 1) {
    const read = await diagnosis.gql<any>('query ($id: ID!) { consultation(id: $id) { report { status } } }', { id }, owner);
    expect(read.errors).toBeUndefined();
    const status = read.data!.consultation.report.status as string;
    seen.push(status);
    if (status !== 'PENDING') return { status, seen };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { status: 'PENDING', seen };
}

describe('the saga wait and the gateway budget', () => {
  it('defaults to 30% of the gateway budget for diagnosis and refuses more than half of it', () => {
    expect(loadDiagnosisConfig({ NODE_ENV: 'test' }).SAGA_WAIT_MS).toBe(3_000);
    expect(loadDiagnosisConfig({ NODE_ENV: 'test', SUBGRAPH_TIMEOUT_MS: '4000' }).SAGA_WAIT_MS).toBe(1_200);
    // The per-subgraph budget wins over the general one, as at the gateway.
    expect(loadDiagnosisConfig({ NODE_ENV: 'test', SUBGRAPH_TIMEOUT_MS: '4000', SUBGRAPH_DIAGNOSIS_TIMEOUT_MS: '20000' }).SAGA_WAIT_MS).toBe(6_000);
    expect(loadDiagnosisConfig({ NODE_ENV: 'test', SAGA_WAIT_MS: '5000' }).SAGA_WAIT_MS).toBe(5_000);
    // Today's former default (the wait equal to the whole budget) is refused at start, naming the bound.
    expect(() => loadDiagnosisConfig({ NODE_ENV: 'test', SAGA_WAIT_MS: '10000' })).toThrow(ConfigError);
    expect(() => loadDiagnosisConfig({ NODE_ENV: 'test', SAGA_WAIT_MS: '10000' })).toThrow(/SAGA_WAIT_MS: must be at most 50% .* 5000 ms \(received 10000\)/);
    expect(() => loadDiagnosisConfig({ NODE_ENV: 'test', SUBGRAPH_DIAGNOSIS_TIMEOUT_MS: '2000', SAGA_WAIT_MS: '1500' })).toThrow(/at most .* 1000 ms/);
  });
});

describe('completeConsultation when the saga is slow or cannot start', () => {
  it('a step that does not finish in time: the completion answers with the report PENDING, and polling later shows it PUBLISHED', async () => {
    let release: (value: unknown) => void = () => {};
    fake.behaviour.EXPLAIN = () => new Promise((resolve) => (release = resolve));
    onTestFinished(() => release({ id: 'late' }));
    const { id, completed } = await complete();
    expect(completed.errors).toBeUndefined();
    expect(completed.data!.completeConsultation).toMatchObject({ id, status: 'COMPLETED', report: { status: 'PENDING' } });
    expect(fake.calls.map((c) => c.step)).toEqual(['EXPLAIN']); // it was under way, not skipped

    release({ id: 'explained' });
    const polled = await pollReport(id);
    expect(polled.status).toBe('PUBLISHED');
    expect(fake.calls.map((c) => c.step)).toEqual(['EXPLAIN', 'NOTIFY']);
  });

  it('a database error when claiming the saga: the committed completion is answered, the report PENDING, and a sweep publishes it', async () => {
    // Injected in the database itself: any claim (a new lease token) of a saga fails.
    const dropTrigger = await refuseSagaClaims(diagnosis.database);
    onTestFinished(dropTrigger);

    const { id, completed } = await complete();
    expect(completed.errors).toBeUndefined();
    expect(completed.data!.completeConsultation).toMatchObject({ id, status: 'COMPLETED', report: { status: 'PENDING' } });
    const reportId = completed.data!.completeConsultation.report.id as string;
    expect(fake.calls).toEqual([]);
    const [row] = await diagnosis.database.rows<{ state: string; lease_token: string | null }>(
      sql`select state, lease_token::text from "diagnosis".report_sagas where report_id = ${reportId}`,
    );
    expect(row).toEqual({ state: 'RUNNING', lease_token: null }); // unclaimed: any sweep may take it

    // Still failing: the sweep tries, the report stays PENDING, nothing breaks.
    await saga().sweep();
    expect((await diagnosis.gql<any>('query ($id: ID!) { consultation(id: $id) { report { status } } }', { id }, owner)).data!.consultation.report.status).toBe('PENDING');

    await dropTrigger();
    expect(await saga().sweep()).toBeGreaterThanOrEqual(1);
    expect((await pollReport(id)).status).toBe('PUBLISHED');
    expect(fake.calls.map((c) => c.key)).toEqual([`report:${reportId}:1:explain`, `report:${reportId}:1:notify`]);
  });
});

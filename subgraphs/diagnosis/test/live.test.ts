import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { subscribeOverSse } from '@suoke/platform/testing';
import { QUESTIONNAIRE, answersLeaningTo, fakeSteps, startDiagnosis, stepError, type Diagnosis, type QuestionView } from './harness.js';

// `reportUpdated(id)` over the subgraph's graphql-sse endpoint: the report as
// it is, then each committed status change the saga makes (PENDING →
// PUBLISHED, → FAILED with its reason, retried → PENDING → PUBLISHED); owner
// only (or health:read:any), NOT_FOUND for anyone else alike.

let diagnosis: Diagnosis;
let questions: QuestionView[];
const fake = fakeSteps();
const owner = { id: randomUUID() };
const stranger = { id: randomUUID() };
const clinician = { id: randomUUID(), roles: ['CLINICIAN'] };

beforeAll(async () => {
  // The mutation answers before the saga ends (SAGA_WAIT_MS), leaving the report PENDING for the subscriber.
  diagnosis = await startDiagnosis({
    steps: fake.steps,
    env: { SAGA_WAIT_MS: '20', SAGA_STEP_ATTEMPTS: '1', ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}) },
  });
  questions = (await diagnosis.gql<{ constitutionQuestionnaire: QuestionView[] }>(QUESTIONNAIRE)).data!.constitutionQuestionnaire;
});
afterAll(async () => {
  await diagnosis?.close();
});
beforeEach(() => {
  for (const map of [fake.behaviour, fake.compensation]) for (const key of Object.keys(map)) delete map[key as keyof typeof map];
});

const UPDATED = 'subscription ($id: ID!) { reportUpdated(id: $id) { id status statusReason primaryConstitution { code } createdAt } }';

/** A gate the NOTIFY step waits at: the saga stays PENDING until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

async function completedReport(): Promise<{ id: string; status: string; createdAt: string }> {
  const started = await diagnosis.gql<any>('mutation { startConsultation { id } }', {}, owner);
  const id = started.data!.startConsultation.id as string;
  const inquiry = await diagnosis.gql<any>('mutation ($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers: answersLeaningTo(questions, 'QI_DEFICIENT') } }, owner);
  expect(inquiry.errors).toBeUndefined();
  const completed = await diagnosis.gql<any>('mutation ($id: ID!) { completeConsultation(id: $id) { report { id status createdAt } } }', { id }, owner);
  expect(completed.errors).toBeUndefined();
  return completed.data!.completeConsultation.report;
}

async function listening(reportId: string, count: number): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (diagnosis.subgraph.events.listenerCount(`diagnosis:report:${reportId}`) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} listeners on report ${reportId}`);
}

describe('reportUpdated', () => {
  it('sends the report as it is, then PUBLISHED once the saga commits it', async () => {
    const notify = gate();
    fake.behaviour.NOTIFY = () => notify.opened;
    const report = await completedReport();
    expect(report.status).toBe('PENDING');
    const stream = subscribeOverSse<any>(diagnosis.url, UPDATED, { id: report.id }, { caller: owner });
    const first = await stream.next();
    expect(first?.errors).toBeUndefined();
    expect(first?.data?.reportUpdated).toMatchObject({ id: report.id, status: 'PENDING', statusReason: null, createdAt: report.createdAt });
    notify.open();
    const published = await stream.next();
    expect(published?.data?.reportUpdated).toMatchObject({ id: report.id, status: 'PUBLISHED', statusReason: null, primaryConstitution: { code: 'QI_DEFICIENT' }, createdAt: report.createdAt });
    stream.dispose();
    await listening(report.id, 0);
  });

  it('sends FAILED with its reason, then PENDING and PUBLISHED when the owner retries', async () => {
    const notify = gate();
    fake.behaviour.NOTIFY = async () => {
      await notify.opened;
      throw stepError(false);
    };
    const report = await completedReport();
    const stream = subscribeOverSse<any>(diagnosis.url, UPDATED, { id: report.id }, { caller: owner });
    expect((await stream.next())?.data?.reportUpdated.status).toBe('PENDING');
    notify.open();
    expect((await stream.next())?.data?.reportUpdated).toMatchObject({ status: 'FAILED', statusReason: 'NOTIFY failed' });
    delete fake.behaviour.NOTIFY;
    const retried = await diagnosis.gql<any>('mutation ($id: ID!) { retryReport(id: $id) { id } }', { id: report.id }, owner);
    expect(retried.errors).toBeUndefined();
    expect((await stream.next())?.data?.reportUpdated.status).toBe('PENDING');
    expect((await stream.next())?.data?.reportUpdated.status).toBe('PUBLISHED');
    stream.dispose();
    await listening(report.id, 0);
  });

  it("refuses anyone else's report with the same NOT_FOUND as an unknown one, holding no subscription", async () => {
    const report = await completedReport();
    const refusal = async (caller: { id: string } | undefined, id: string) => {
      const stream = subscribeOverSse<any>(diagnosis.url, UPDATED, { id }, { caller });
      const result = await stream.next();
      expect(await stream.next()).toBeUndefined();
      return { codes: result?.errors?.map((e) => e.extensions?.code), data: result?.data ?? null };
    };
    expect(await refusal(stranger, report.id)).toEqual({ codes: ['NOT_FOUND'], data: null });
    expect(await refusal(stranger, randomUUID())).toEqual({ codes: ['NOT_FOUND'], data: null });
    expect(await refusal(owner, 'not-a-uuid')).toEqual({ codes: ['NOT_FOUND'], data: null });
    expect(await refusal(undefined, report.id)).toEqual({ codes: ['UNAUTHENTICATED'], data: null });
    expect(diagnosis.subgraph.events.listenerCount()).toBe(0);
    // health:read:any may follow it.
    const stream = subscribeOverSse<any>(diagnosis.url, UPDATED, { id: report.id }, { caller: clinician });
    expect((await stream.next())?.data?.reportUpdated.id).toBe(report.id);
    stream.dispose();
    await listening(report.id, 0);
  });
});

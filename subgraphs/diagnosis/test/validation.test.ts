import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussian, prng, syntheticPulse } from '../src/service/synthetic-pulse.js';
import { QUESTIONNAIRE, answersLeaningTo, codes, countRows, startDiagnosis, type Diagnosis, type QuestionView } from './harness.js';

let diagnosis: Diagnosis;
let questions: QuestionView[];
let consultationId: string;
const owner = { id: randomUUID() };

type Data = Record<string, any>;

beforeAll(async () => {
  diagnosis = await startDiagnosis();
  questions = (await diagnosis.gql<{ constitutionQuestionnaire: QuestionView[] }>(QUESTIONNAIRE)).data!.constitutionQuestionnaire;
  consultationId = (await diagnosis.gql<Data>(`mutation { startConsultation { id } }`, {}, owner)).data!.startConsultation.id;
});
afterAll(async () => {
  await diagnosis?.close();
});

const INQUIRY = `mutation ($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }`;
const PULSE = `mutation ($input: SubmitPulseRecordingInput!) { submitPulseRecording(input: $input) { id palpation { rateBpm } } }`;

function badInput(result: { errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }> }) {
  expect(codes(result as never)).toEqual(['BAD_USER_INPUT']);
  return result.errors![0]!;
}

describe('startConsultation', () => {
  it('refuses an unknown agent naming the input', async () => {
    const error = badInput(await diagnosis.gql(`mutation { startConsultation(input: { agentId: "dr-who" }) { id } }`, {}, owner));
    expect(error.extensions?.field).toBe('input.agentId');
    expect(error.message).toBe('agentId must be one of xiaoai, xiaoke, laoke, soer; received "dr-who"');
  });

  it.each(['xiaoai', 'xiaoke', 'laoke', 'soer'])('accepts agent %s', async (agentId) => {
    const result = await diagnosis.gql<Data>(`mutation ($agentId: ID) { startConsultation(input: { agentId: $agentId }) { agent { id } } }`, { agentId }, owner);
    expect(result.data!.startConsultation.agent).toEqual({ id: agentId });
  });
});

describe('submitInquiry', () => {
  it('refuses an out-of-range answer, naming the question and the input path; nothing is stored', async () => {
    const answers = answersLeaningTo(questions, 'BALANCED');
    answers[3] = { ...answers[3]!, value: 6 };
    const error = badInput(await diagnosis.gql(INQUIRY, { input: { consultationId, answers } }, owner));
    expect(error.extensions?.field).toBe('input.answers[3].value');
    expect(error.message).toContain(`question ${questions[3]!.id} must be an integer from 1 to 5; received 6`);
    expect(await countRows(diagnosis.database, 'method_results')).toBe(0);
  });

  it('refuses missing answers naming the questions', async () => {
    const answers = answersLeaningTo(questions, 'BALANCED').slice(0, -2);
    const error = badInput(await diagnosis.gql(INQUIRY, { input: { consultationId, answers } }, owner));
    expect(error.extensions?.field).toBe('input.answers');
    expect(error.message).toContain(`missing 2: ${questions.at(-2)!.id}, ${questions.at(-1)!.id}`);
  });

  it('refuses an unknown question', async () => {
    const answers = [...answersLeaningTo(questions, 'BALANCED'), { questionId: 'MADE_UP_1', value: 3 }];
    const error = badInput(await diagnosis.gql(INQUIRY, { input: { consultationId, answers } }, owner));
    expect(error.extensions?.field).toBe(`input.answers[${questions.length}].questionId`);
  });

  it('refuses a non-integer answer at the GraphQL layer', async () => {
    const answers = answersLeaningTo(questions, 'BALANCED');
    answers[0] = { ...answers[0]!, value: 2.5 };
    const result = await diagnosis.gql(INQUIRY, { input: { consultationId, answers } }, owner);
    expect(codes(result)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('submitPulseRecording', () => {
  const pulse = (seconds: number, sampleRate = 100) => syntheticPulse({ sampleRate, seconds, bpm: 70, noise: 0.05, seed: 1 }).samples;

  it.each([
    ['a sample rate below 50 Hz', { sampleRate: 40, samples: pulse(12, 40) }, 'input.sampleRate', /sampleRate must be 50–1000 Hz; received 40/],
    ['fewer than 10 s', { sampleRate: 100, samples: pulse(9) }, 'input.samples', /too short/],
    ['more than 60000 samples', { sampleRate: 1000, samples: Array(60_001).fill(0) }, 'input.samples', /too long/],
    ['a flat signal', { sampleRate: 50, samples: Array(600).fill(512) }, 'input.samples', /cannot be used: the signal is flat/],
    ['white noise', { sampleRate: 100, samples: Array.from({ length: 2000 }, gaussian(prng(3))) }, 'input.samples', /cannot be used: /],
  ])('refuses %s with the reason', async (_label, recording, field, message) => {
    const error = badInput(await diagnosis.gql(PULSE, { input: { consultationId, ...recording } }, owner));
    expect(error.extensions?.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('accepts a clean recording', async () => {
    const result = await diagnosis.gql<Data>(PULSE, { input: { consultationId, sampleRate: 100, samples: pulse(15) } }, owner);
    expect(result.errors).toBeUndefined();
    expect(Math.abs(result.data!.submitPulseRecording.palpation.rateBpm - 70)).toBeLessThan(2);
  });
});

describe('completeConsultation', () => {
  it('needs the inquiry, and leaves the consultation open without it', async () => {
    const error = badInput(await diagnosis.gql(`mutation ($id: ID!) { completeConsultation(id: $id) { id } }`, { id: consultationId }, owner));
    expect(error.message).toMatch(/cannot be completed before its inquiry/);
    expect(error.extensions?.field).toBe('id');
    const read = await diagnosis.gql<Data>(`query ($id: ID!) { consultation(id: $id) { status report { id } palpation { rateCategory } } }`, { id: consultationId }, owner);
    expect(read.data!.consultation).toEqual({ status: 'OPEN', report: null, palpation: { rateCategory: 'NORMAL' } });
    expect(await countRows(diagnosis.database, 'reports')).toBe(0);
  });
});

describe('errors', () => {
  it('never leak SQL: a database failure is a masked internal error', async () => {
    const answers = answersLeaningTo(questions, 'BALANCED');
    // Valid input, but the table behind it is gone: the driver's message must not reach the client.
    await diagnosis.database.exec('alter table "diagnosis".method_results rename to method_results_away');
    try {
      const result = await diagnosis.gql(INQUIRY, { input: { consultationId, answers } }, owner);
      expect(codes(result)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(result.errors![0]!.message).toBe('Internal server error');
      expect(JSON.stringify(result)).not.toMatch(/method_results|relation|select|insert/i);
    } finally {
      await diagnosis.database.exec('alter table "diagnosis".method_results_away rename to method_results');
    }
  });
});

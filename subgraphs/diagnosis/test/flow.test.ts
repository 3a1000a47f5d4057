import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticPulse } from '../src/service/synthetic-pulse.js';
import { CONSULTATION_FIELDS, QUESTIONNAIRE, answersLeaningTo, codes, countRows, startDiagnosis, type Diagnosis, type QuestionView } from './harness.js';

let diagnosis: Diagnosis;
let questions: QuestionView[];
const owner = { id: randomUUID() };

beforeAll(async () => {
  diagnosis = await startDiagnosis();
  const result = await diagnosis.gql<{ constitutionQuestionnaire: QuestionView[] }>(QUESTIONNAIRE);
  questions = result.data!.constitutionQuestionnaire;
});
afterAll(async () => {
  await diagnosis?.close();
});

const START = `mutation ($input: StartConsultationInput) { startConsultation(input: $input) { id status agent { id } startedAt completedAt report { id } } }`;
const INQUIRY = `mutation ($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id inquiry { primary { code } secondary { code } scores { constitution { code } score determination } } } }`;
const INSPECTION = `mutation ($input: SubmitInspectionInput!) { submitInspection(input: $input) { id inspection { findings { method code constitutions { code } syndromes { code } } } } }`;
const LISTENING = `mutation ($input: SubmitListeningInput!) { submitListening(input: $input) { id listening { frequentSighing findings { method code } } } }`;
const PULSE = `mutation ($input: SubmitPulseRecordingInput!) { submitPulseRecording(input: $input) { id palpation { rateBpm rateCategory rhythm strength beatCount } } }`;
const COMPLETE = `mutation ($id: ID!) { completeConsultation(id: $id) { ${CONSULTATION_FIELDS} } }`;
const CANCEL = `mutation ($id: ID!) { cancelConsultation(id: $id) { id status cancelledAt completedAt } }`;
const CONSULTATION = `query ($id: ID!) { consultation(id: $id) { ${CONSULTATION_FIELDS} } }`;

type Data = Record<string, any>;

async function start(caller = owner, agentId?: string): Promise<string> {
  const result = await diagnosis.gql<Data>(START, agentId ? { input: { agentId } } : {}, caller);
  expect(result.errors).toBeUndefined();
  return result.data!.startConsultation.id as string;
}

const tongue = { bodyColour: 'PALE', coatingColour: 'WHITE', coatingThickness: 'THIN', moisture: 'NORMAL', teethMarks: true, cracks: false, swollen: false };

describe('constitutionQuestionnaire', () => {
  it('serves every constitution’s questions publicly, balanced with reverse-scored ones', () => {
    const count = (code: string) => questions.filter((q) => q.constitution.code === code).length;
    expect(count('BALANCED')).toBe(8);
    expect(questions.filter((q) => q.constitution.code === 'BALANCED' && q.reverseScored)).toHaveLength(5);
    for (const code of ['QI_DEFICIENT', 'YANG_DEFICIENT', 'YIN_DEFICIENT', 'PHLEGM_DAMP', 'DAMP_HEAT', 'BLOOD_STASIS', 'QI_STAGNATION', 'INHERITED_SPECIAL']) {
      expect(count(code)).toBeGreaterThanOrEqual(6);
      expect(count(code)).toBeLessThanOrEqual(8);
    }
    expect(questions.filter((q) => q.reverseScored && q.constitution.code !== 'BALANCED')).toEqual([]);
    expect(new Set(questions.map((q) => q.id)).size).toBe(questions.length);
    for (const q of questions) {
      expect(q.text).toMatch(/[\u4e00-\u9fff]/);
      expect(q.textEn).toMatch(/^[A-Z].*\?$/);
    }
  });
});

describe('a full consultation', () => {
  it('runs start → inquiry → inspection → listening → pulse → complete and reports the synthesis', async () => {
    const started = await diagnosis.gql<Data>(START, { input: { agentId: 'laoke' } }, owner);
    expect(started.errors).toBeUndefined();
    const consultation = started.data!.startConsultation;
    expect(consultation).toMatchObject({ status: 'OPEN', agent: { id: 'laoke' }, completedAt: null, report: null });
    const id = consultation.id as string;

    const inquiry = await diagnosis.gql<Data>(INQUIRY, { input: { consultationId: id, answers: answersLeaningTo(questions, 'QI_DEFICIENT') } }, owner);
    expect(inquiry.errors).toBeUndefined();
    const scores = inquiry.data!.submitInquiry.inquiry.scores as Array<{ constitution: { code: string }; score: number; determination: string }>;
    expect(scores.map((s) => s.constitution.code)).toEqual([
      'BALANCED', 'QI_DEFICIENT', 'YANG_DEFICIENT', 'YIN_DEFICIENT', 'PHLEGM_DAMP', 'DAMP_HEAT', 'BLOOD_STASIS', 'QI_STAGNATION', 'INHERITED_SPECIAL',
    ]);
    // Qi-deficient questions all "often" (4): (32 − 8) / 32 × 100 = 75. Balanced: 3 forward "sometimes" and 5 reversed → (3·3 + 5·3 − 8) / 32 = 50.
    expect(scores[1]).toEqual({ constitution: { code: 'QI_DEFICIENT' }, score: 75, determination: 'YES' });
    expect(scores[0]).toEqual({ constitution: { code: 'BALANCED' }, score: 50, determination: 'NO' });
    expect(scores[2]).toMatchObject({ score: 0, determination: 'NO' });
    expect(inquiry.data!.submitInquiry.inquiry.primary).toEqual({ code: 'QI_DEFICIENT' });

    const inspection = await diagnosis.gql<Data>(INSPECTION, { input: { consultationId: id, tongue, complexion: 'SALLOW' } }, owner);
    expect(inspection.errors).toBeUndefined();
    expect(inspection.data!.submitInspection.inspection.findings.map((f: Data) => f.code)).toEqual([
      'TONGUE_PALE', 'COATING_THIN_WHITE', 'TONGUE_TEETH_MARKS', 'COMPLEXION_SALLOW',
    ]);
    expect(inspection.data!.submitInspection.inspection.findings[0]).toMatchObject({
      method: 'INSPECTION',
      constitutions: [{ code: 'QI_DEFICIENT' }, { code: 'YANG_DEFICIENT' }],
      syndromes: [{ code: 'SPLEEN_QI_DEFICIENCY' }, { code: 'HEART_BLOOD_DEFICIENCY' }],
    });

    const listening = await diagnosis.gql<Data>(LISTENING, { input: { consultationId: id, voiceVolume: 'LOW', breathless: true, cough: 'NONE', odour: 'NONE' } }, owner);
    expect(listening.errors).toBeUndefined();
    expect(listening.data!.submitListening.listening).toEqual({
      frequentSighing: false,
      findings: [{ method: 'LISTENING', code: 'VOICE_LOW' }, { method: 'LISTENING', code: 'BREATH_SHORT' }],
    });

    const { samples } = syntheticPulse({ sampleRate: 100, seconds: 30, bpm: 66, amplitude: 0.3, noise: 0.05, wander: 0.2, seed: 9 });
    const pulse = await diagnosis.gql<Data>(PULSE, { input: { consultationId: id, sampleRate: 100, samples } }, owner);
    expect(pulse.errors).toBeUndefined();
    const palpation = pulse.data!.submitPulseRecording.palpation;
    expect(palpation).toMatchObject({ rateCategory: 'NORMAL', rhythm: 'REGULAR', strength: 'WEAK' });
    expect(Math.abs(palpation.rateBpm - 66)).toBeLessThan(2);

    const completed = await diagnosis.gql<Data>(COMPLETE, { id }, owner);
    expect(completed.errors).toBeUndefined();
    const done = completed.data!.completeConsultation;
    expect(done.status).toBe('COMPLETED');
    expect(Date.parse(done.completedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    const report = done.report;
    expect(report.primaryConstitution).toEqual({ code: 'QI_DEFICIENT' });
    expect(report.methods).toEqual(['INQUIRY', 'INSPECTION', 'LISTENING', 'PALPATION']);
    expect(report.suggestedSyndromes[0]).toEqual({ code: 'SPLEEN_QI_DEFICIENCY' });
    expect(report.confidence).toBeGreaterThan(0.8);
    expect(report.confidence).toBeLessThanOrEqual(0.95);
    expect(report.adviceSummary).toContain('气虚质');
    expect(report.adviceSummaryEn).toContain('qi-deficient');
    expect(report.createdAt).toBe(done.completedAt);
    // Questionnaire findings first, then each method's findings with their method.
    expect(report.findings.map((f: Data) => f.method)).toEqual([
      'INQUIRY', 'INSPECTION', 'INSPECTION', 'INSPECTION', 'INSPECTION', 'LISTENING', 'LISTENING', 'PALPATION',
    ]);
    const qi = report.scores.find((s: Data) => s.constitution.code === 'QI_DEFICIENT');
    expect(qi).toMatchObject({ inquiryScore: 75, adjustment: 15, score: 90, determination: 'YES' });
    expect(done.inquiry.primary).toEqual({ code: 'QI_DEFICIENT' });
    expect(done.palpation.findings).toEqual([{ code: 'PULSE_WEAK' }]);

    // The stored consultation reads back the same through the root field.
    const read = await diagnosis.gql<Data>(CONSULTATION, { id }, owner);
    expect(read.errors).toBeUndefined();
    expect(read.data!.consultation).toEqual(done);

    // And the user's latest report is this one.
    const latest = await diagnosis.gql<Data>(
      `query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { latestReport { id primaryConstitution { code } } consultations(first: 5) { edges { node { id status } } } } } }`,
      { id: owner.id },
      owner,
    );
    expect(latest.errors).toBeUndefined();
    expect(latest.data!._entities[0]).toEqual({
      latestReport: { id: report.id, primaryConstitution: { code: 'QI_DEFICIENT' } },
      consultations: { edges: [{ node: { id, status: 'COMPLETED' } }] },
    });
  });

  it('completes with the inquiry alone, suggesting no syndrome', async () => {
    const id = await start();
    await diagnosis.gql(INQUIRY, { input: { consultationId: id, answers: answersLeaningTo(questions, 'BALANCED') } }, owner);
    const completed = await diagnosis.gql<Data>(COMPLETE, { id }, owner);
    expect(completed.errors).toBeUndefined();
    expect(completed.data!.completeConsultation.report).toMatchObject({
      primaryConstitution: { code: 'BALANCED' },
      secondaryConstitutions: [],
      suggestedSyndromes: [],
      methods: ['INQUIRY'],
      confidence: 0.5,
    });
    expect(completed.data!.completeConsultation.agent).toEqual({ id: 'xiaoai' });
  });

  it('replaces a method submitted again while open', async () => {
    const id = await start();
    await diagnosis.gql(LISTENING, { input: { consultationId: id, voiceVolume: 'LOW', breathless: false, cough: 'NONE', odour: 'NONE' } }, owner);
    const again = await diagnosis.gql<Data>(
      LISTENING,
      { input: { consultationId: id, voiceVolume: 'NORMAL', breathless: false, cough: 'DRY', odour: 'NONE', frequentSighing: true } },
      owner,
    );
    expect(again.data!.submitListening.listening.findings.map((f: Data) => f.code)).toEqual(['VOICE_NORMAL', 'COUGH_DRY', 'FREQUENT_SIGHING']);
    expect(await countRows(diagnosis.database, 'method_results')).toBeGreaterThan(0);
  });

  it('stores results and reports as JSON structures, not JSON strings, on either driver', async () => {
    const kinds = await diagnosis.database.rows<{ input: string; result: string }>(
      sql`select distinct jsonb_typeof(input) as input, jsonb_typeof(result) as result from "diagnosis".method_results`,
    );
    expect(kinds).toEqual([{ input: 'object', result: 'object' }]);
    const reports = await diagnosis.database.rows<{ scores: string; findings: string }>(
      sql`select distinct jsonb_typeof(scores) as scores, jsonb_typeof(findings) as findings from "diagnosis".reports`,
    );
    expect(reports).toEqual([{ scores: 'array', findings: 'array' }]);
  });
});

describe('closed consultations', () => {
  it('refuses submissions, completion and cancellation after completion with CONFLICT', async () => {
    const id = await start();
    await diagnosis.gql(INQUIRY, { input: { consultationId: id, answers: answersLeaningTo(questions, 'DAMP_HEAT') } }, owner);
    expect((await diagnosis.gql(COMPLETE, { id }, owner)).errors).toBeUndefined();
    const reports = await countRows(diagnosis.database, 'reports');

    const attempts = [
      await diagnosis.gql(COMPLETE, { id }, owner),
      await diagnosis.gql(CANCEL, { id }, owner),
      await diagnosis.gql(INQUIRY, { input: { consultationId: id, answers: answersLeaningTo(questions, 'BALANCED') } }, owner),
      await diagnosis.gql(INSPECTION, { input: { consultationId: id, tongue, complexion: 'NORMAL' } }, owner),
      await diagnosis.gql(LISTENING, { input: { consultationId: id, voiceVolume: 'LOW', breathless: true, cough: 'NONE', odour: 'NONE' } }, owner),
      await diagnosis.gql(PULSE, { input: { consultationId: id, sampleRate: 100, samples: syntheticPulse({ sampleRate: 100, seconds: 12, bpm: 70 }).samples } }, owner),
    ];
    for (const attempt of attempts) {
      expect(codes(attempt)).toEqual(['CONFLICT']);
      expect(attempt.errors![0]!.message).toMatch(/is completed; \w+ needs an open consultation/);
      expect(Object.values(attempt.data ?? {}).every((v) => v === null), "every root field is null").toBe(true);
    }
    expect(await countRows(diagnosis.database, 'reports')).toBe(reports);
    const read = await diagnosis.gql<Data>(CONSULTATION, { id }, owner);
    expect(read.data!.consultation.inquiry.primary).toEqual({ code: 'DAMP_HEAT' });
  });

  it('cancels an open consultation; afterwards everything is CONFLICT and it has no report', async () => {
    const id = await start();
    const cancelled = await diagnosis.gql<Data>(CANCEL, { id }, owner);
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelConsultation).toMatchObject({ id, status: 'CANCELLED', completedAt: null });
    expect(cancelled.data!.cancelConsultation.cancelledAt).toEqual(expect.any(String));
    for (const attempt of [
      await diagnosis.gql(CANCEL, { id }, owner),
      await diagnosis.gql(COMPLETE, { id }, owner),
      await diagnosis.gql(INQUIRY, { input: { consultationId: id, answers: answersLeaningTo(questions, 'BALANCED') } }, owner),
    ]) {
      expect(codes(attempt)).toEqual(['CONFLICT']);
      expect(attempt.errors![0]!.message).toMatch(/is cancelled/);
    }
    const read = await diagnosis.gql<Data>(CONSULTATION, { id }, owner);
    expect(read.data!.consultation).toMatchObject({ status: 'CANCELLED', report: null, inquiry: null });
  });

  it('completes only once when two completions race', async () => {
    const id = await start();
    await diagnosis.gql(INQUIRY, { input: { consultationId: id, answers: answersLeaningTo(questions, 'YIN_DEFICIENT') } }, owner);
    const results = await Promise.all([diagnosis.gql(COMPLETE, { id }, owner), diagnosis.gql(COMPLETE, { id }, owner)]);
    expect(results.map((r) => codes(r)).sort()).toEqual([[], ['CONFLICT']]);
  });
});

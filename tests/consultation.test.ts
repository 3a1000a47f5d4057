import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlStats } from '@suoke/platform';
import { syntheticPulse } from '../subgraphs/diagnosis/src/service/synthetic-pulse.js';
import { codes, startStack, type Stack } from './harness.js';

// A full four-method consultation through the gateway: diagnosis computes the
// report, knowledge resolves its constitution and syndromes, user owns `me`.

const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`;
const REPORT_FIELDS = `
  primaryConstitution { code name advice { diet exercise } recommendedHerbs { name latinName } }
  secondaryConstitutions { code }
  suggestedSyndromes { code name }
  confidence
  methods
  adviceSummary`;

let stack: Stack;
let token: string;
let questions: { id: string; reverseScored: boolean; constitution: { code: string } }[];

beforeAll(async () => {
  // No periodic saga sweep and no field usage flushes (every USAGE_FLUSH_MS, two statements or more): their
  // statements would land in the process-wide counts below.
  stack = await startStack({ subgraphEnv: { SAGA_SWEEP_MS: '0' }, gatewayEnv: { USAGE_RECORDING: 'off' } });
  const registered = await stack.query(REGISTER, { input: { email: `patient-${Date.now()}@example.com`, password: 'four-methods-2026', displayName: '王芳' } });
  token = registered.data?.register.accessToken;
  const questionnaire = await stack.query('{ constitutionQuestionnaire { id reverseScored constitution { code name } } }');
  expect(questionnaire.errors).toBeUndefined();
  questions = questionnaire.data?.constitutionQuestionnaire;
});
afterAll(async () => {
  await stack?.stop();
});

/** Answers that describe a clearly yang-deficient person: cold hands, low energy, otherwise little. */
function yangDeficientAnswers() {
  return questions.map((q) => {
    if (q.constitution.code === 'YANG_DEFICIENT') return { questionId: q.id, value: 5 };
    if (q.constitution.code === 'BALANCED') return { questionId: q.id, value: q.reverseScored ? 4 : 2 };
    return { questionId: q.id, value: 1 };
  });
}

async function consult(withAllMethods: boolean): Promise<{ id: string; report: any; palpation?: any }> {
  const started = await stack.query('mutation { startConsultation(input: { agentId: "xiaoai" }) { id status agent { id } } }', {}, token);
  expect(started.errors).toBeUndefined();
  expect(started.data?.startConsultation).toMatchObject({ status: 'OPEN', agent: { id: 'xiaoai' } });
  const id: string = started.data?.startConsultation.id;
  const inquiry = await stack.query(
    'mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { inquiry { primary { code name } scores { constitution { code } score determination } } } }',
    { input: { consultationId: id, answers: yangDeficientAnswers() } },
    token,
  );
  expect(inquiry.errors).toBeUndefined();
  expect(inquiry.data?.submitInquiry.inquiry.primary).toEqual({ code: 'YANG_DEFICIENT', name: '阳虚质' });
  let palpation;
  if (withAllMethods) {
    const inspection = await stack.query(
      `mutation($input: SubmitInspectionInput!) { submitInspection(input: $input) { inspection { findings { method code constitutions { code } syndromes { code name } } } } }`,
      {
        input: {
          consultationId: id,
          tongue: { bodyColour: 'PALE', coatingColour: 'WHITE', coatingThickness: 'THIN', moisture: 'WET', teethMarks: true, cracks: false, swollen: true },
          complexion: 'PALE',
        },
      },
      token,
    );
    expect(inspection.errors).toBeUndefined();
    expect(inspection.data?.submitInspection.inspection.findings.length).toBeGreaterThan(0);
    const listening = await stack.query(
      `mutation($input: SubmitListeningInput!) { submitListening(input: $input) { listening { findings { method code } } } }`,
      { input: { consultationId: id, voiceVolume: 'LOW', breathless: true, cough: 'NONE', odour: 'NONE' } },
      token,
    );
    expect(listening.errors).toBeUndefined();
    const { samples } = syntheticPulse({ sampleRate: 100, seconds: 20, bpm: 54, noise: 0.05, wander: 0.1, amplitude: 0.6, seed: 7 });
    const pulse = await stack.query(
      `mutation($input: SubmitPulseRecordingInput!) { submitPulseRecording(input: $input) { palpation { rateBpm rateCategory rhythm strength } } }`,
      { input: { consultationId: id, sampleRate: 100, samples: samples.map((v) => Number(v.toFixed(4))) } },
      token,
    );
    expect(pulse.errors).toBeUndefined();
    palpation = pulse.data?.submitPulseRecording.palpation;
  }
  const completed = await stack.query(`mutation($id: ID!) { completeConsultation(id: $id) { status report { ${REPORT_FIELDS} } } }`, { id }, token);
  expect(completed.errors).toBeUndefined();
  expect(completed.data?.completeConsultation.status).toBe('COMPLETED');
  return { id, report: completed.data?.completeConsultation.report, palpation };
}

describe('a full consultation through the gateway', () => {
  it('inquiry + tongue + voice + pulse → a report whose constitution, herbs and syndromes come from knowledge', async () => {
    const { id, report, palpation } = await consult(true);
    expect(palpation.rateBpm).toBeGreaterThan(52);
    expect(palpation.rateBpm).toBeLessThan(56);
    expect(palpation).toMatchObject({ rateCategory: 'SLOW', rhythm: 'REGULAR' });
    expect(report.methods).toEqual(['INQUIRY', 'INSPECTION', 'LISTENING', 'PALPATION']);
    expect(report.primaryConstitution.code).toBe('YANG_DEFICIENT');
    expect(report.primaryConstitution.name).toBe('阳虚质');
    expect(report.primaryConstitution.advice.diet.length).toBeGreaterThan(10);
    expect(report.primaryConstitution.recommendedHerbs.length).toBeGreaterThan(0);
    expect(report.primaryConstitution.recommendedHerbs[0].latinName).toMatch(/^[A-Z]/);
    expect(report.suggestedSyndromes.length).toBeGreaterThan(0);
    expect(report.suggestedSyndromes.every((s: { name: string | null }) => typeof s.name === 'string' && s.name.length > 0)).toBe(true);
    expect(report.confidence).toBeGreaterThan(0);
    expect(report.confidence).toBeLessThanOrEqual(1);

    const again = await stack.query(
      'mutation($input: SubmitListeningInput!) { submitListening(input: $input) { id } }',
      { input: { consultationId: id, voiceVolume: 'LOW', breathless: false, cough: 'NONE', odour: 'NONE' } },
      token,
    );
    expect(codes(again)).toEqual(['CONFLICT']);
  });

  it("one query returns the signed-in user's latest report with its constitution's name, advice and herbs", async () => {
    const response = await stack.query(
      `{ me { displayName latestReport { primaryConstitution { name advice { diet exercise sleep emotions seasons } recommendedHerbs { name } } } } }`,
      {},
      token,
    );
    expect(response.errors).toBeUndefined();
    const constitution = response.data?.me.latestReport.primaryConstitution;
    expect(constitution.name).toBe('阳虚质');
    expect(Object.values(constitution.advice).every((text) => typeof text === 'string' && (text as string).length > 0)).toBe(true);
    expect(constitution.recommendedHerbs.length).toBeGreaterThan(0);
  });

  it('another user sees none of it', async () => {
    const other = await stack.query(REGISTER, { input: { email: `other-${Date.now()}@example.com`, password: 'four-methods-2026', displayName: 'Other' } });
    const response = await stack.query('{ me { latestReport { id } consultations(first: 5) { edges { node { id } } } } }', {}, other.data?.register.accessToken);
    expect(response.errors).toBeUndefined();
    expect(response.data?.me).toEqual({ latestReport: null, consultations: { edges: [] } });
  });
});

describe('batching across user, diagnosis and knowledge', () => {
  it('consultations(first: 20) issues as many SQL statements as consultations(first: 2)', async () => {
    // The same shape of data on every page: all four methods, so syndromes appear in both lists.
    for (let i = 0; i < 19; i += 1) await consult(true);
    // Statements are counted process-wide: let the report sagas that outlived their answers (PENDING) finish first.
    const diagnosisDb = stack.databases.diagnosis!.database;
    for (let i = 0; i < 600; i += 1) {
      const [left] = await diagnosisDb.rows<{ n: number }>(sql`select count(*)::int as n from "diagnosis".report_sagas where state in ('RUNNING', 'COMPENSATING')`);
      if (left?.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const query = (n: number) => `{
      me {
        consultations(first: ${n}) {
          edges { node { status report { confidence primaryConstitution { name recommendedHerbs { name } } suggestedSyndromes { name } } } }
        }
      }
    }`;
    // Counts are process-wide, so a statement of background work (a job, a timer) that lands inside a query's
    // window adds to it. Such noise does not repeat; a list that is not batched does, on every attempt: the
    // pair is measured again (up to three times) only while the two counts differ.
    let counts: Record<number, number> = {};
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      counts = {};
      for (const n of [2, 20]) {
        const before = sqlStats.statements;
        const response = await stack.query(query(n), {}, token);
        counts[n] = sqlStats.statements - before;
        expect(response.errors).toBeUndefined();
        expect(response.data?.me.consultations.edges).toHaveLength(n);
        expect(response.data?.me.consultations.edges.every((e: any) => e.node.report.primaryConstitution.name === '阳虚质')).toBe(true);
      }
      console.log(`SQL statements (attempt ${attempt}): consultations(first: 2) → ${counts[2]}, consultations(first: 20) → ${counts[20]}`);
      if (counts[20] === counts[2]) break;
    }
    expect(counts[2]).toBeGreaterThan(0);
    expect(counts[20]).toBe(counts[2]);
  });
});

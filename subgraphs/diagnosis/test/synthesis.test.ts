import { describe, expect, it } from 'vitest';
import { CONSTITUTION_CODES, type ConstitutionCode } from '../src/service/constitutions.js';
import type { Finding, Method } from '../src/service/findings.js';
import { determineAll } from '../src/service/scoring.js';
import { combineScores, confidenceOf, evidence, inquiryFindings, suggestSyndromes, synthesize, WEIGHTS, type InquiryScoreLike } from '../src/service/synthesis.js';

function inquiry(values: Partial<Record<ConstitutionCode, number>>): InquiryScoreLike[] {
  const scores = { ...Object.fromEntries(CONSTITUTION_CODES.map((c) => [c, 10])), ...values } as Record<ConstitutionCode, number>;
  const determinations = determineAll(scores);
  return CONSTITUTION_CODES.map((constitution) => ({ constitution, score: scores[constitution], determination: determinations[constitution] }));
}

function finding(method: Method, constitutions: ConstitutionCode[], syndromes: Finding['syndromes'] = [], code = `${method}_${constitutions.join('_')}`): Finding {
  return { method, code, description: '所见', descriptionEn: 'Seen', constitutions, syndromes };
}

const score = (scores: ReturnType<typeof combineScores>, code: ConstitutionCode) => scores.find((s) => s.constitution === code)!;

describe('evidence and combined scores', () => {
  it('adds each finding’s method weight to the constitutions it points to', () => {
    const support = evidence([finding('INSPECTION', ['QI_DEFICIENT', 'YANG_DEFICIENT']), finding('LISTENING', ['QI_DEFICIENT']), finding('PALPATION', ['YANG_DEFICIENT'])]);
    expect(support.QI_DEFICIENT).toBe(WEIGHTS.method.INSPECTION + WEIGHTS.method.LISTENING);
    expect(support.YANG_DEFICIENT).toBe(WEIGHTS.method.INSPECTION + WEIGHTS.method.PALPATION);
    // Three abnormal findings count against BALANCED.
    expect(support.BALANCED).toBe(-(6 + 4 + 5));
    expect(support.DAMP_HEAT).toBe(0);
  });

  it('raises BALANCED with normal findings', () => {
    expect(evidence([finding('INSPECTION', ['BALANCED']), finding('PALPATION', ['BALANCED'])]).BALANCED).toBe(11);
  });

  it('caps the adjustment at ±15 and the score at 0–100', () => {
    const many = Array.from({ length: 6 }, () => finding('INSPECTION', ['DAMP_HEAT']));
    const scores = combineScores(inquiry({ DAMP_HEAT: 92, BALANCED: 5 }), many);
    expect(score(scores, 'DAMP_HEAT')).toMatchObject({ inquiryScore: 92, adjustment: 15, score: 100, determination: 'YES' });
    expect(score(scores, 'BALANCED')).toMatchObject({ adjustment: -15, score: 0 });
  });

  it('re-determines on the combined scores: findings can lift a tendency to YES', () => {
    const scores = combineScores(inquiry({ BLOOD_STASIS: 34 }), [finding('INSPECTION', ['BLOOD_STASIS'])]);
    expect(score(scores, 'BLOOD_STASIS')).toMatchObject({ inquiryScore: 34, adjustment: 6, score: 40, determination: 'YES' });
  });

  it('keeps balanced YES while normal findings hold every other score under 30', () => {
    const scores = combineScores(inquiry({ BALANCED: 58 }), [finding('INSPECTION', ['BALANCED'])]);
    expect(score(scores, 'BALANCED')).toMatchObject({ score: 64, determination: 'YES' });
  });

  it('needs a score for every constitution', () => {
    expect(() => combineScores(inquiry({}).slice(1), [])).toThrow(/BALANCED is missing/);
  });
});

describe('syndromes', () => {
  it('suggests a syndrome named by findings and typical of the primary constitution', () => {
    const findings = [finding('LISTENING', ['QI_DEFICIENT'], ['LUNG_QI_DEFICIENCY'])];
    // 4 (listening) + 4 (typical of the primary) = 8: the threshold.
    expect(suggestSyndromes(findings, 'QI_DEFICIENT', [])).toEqual(['LUNG_QI_DEFICIENCY']);
    // Without the constitution's support one listening finding is not enough.
    expect(suggestSyndromes(findings, 'BALANCED', [])).toEqual([]);
    // A secondary constitution adds less: 4 + 2 = 6.
    expect(suggestSyndromes(findings, 'DAMP_HEAT', ['QI_DEFICIENT'])).toEqual([]);
  });

  it('suggests a syndrome two methods agree on, whatever the constitution', () => {
    const findings = [finding('INSPECTION', ['DAMP_HEAT'], ['LIVER_FIRE_BLAZING']), finding('LISTENING', ['DAMP_HEAT'], ['LIVER_FIRE_BLAZING'])];
    expect(suggestSyndromes(findings, 'BALANCED', [])).toEqual(['LIVER_FIRE_BLAZING']);
  });

  it('never suggests a syndrome no finding names, and at most three, strongest first', () => {
    expect(suggestSyndromes([], 'QI_DEFICIENT', ['YANG_DEFICIENT'])).toEqual([]);
    const findings = [
      finding('INSPECTION', ['QI_DEFICIENT'], ['SPLEEN_QI_DEFICIENCY', 'HEART_BLOOD_DEFICIENCY', 'LUNG_QI_DEFICIENCY', 'HEART_QI_DEFICIENCY']),
      finding('PALPATION', ['QI_DEFICIENT'], ['HEART_QI_DEFICIENCY']),
    ];
    expect(suggestSyndromes(findings, 'QI_DEFICIENT', [])).toEqual(['HEART_QI_DEFICIENCY', 'SPLEEN_QI_DEFICIENCY', 'LUNG_QI_DEFICIENCY']);
  });
});

describe('confidence', () => {
  const base = { primary: 'QI_DEFICIENT' as const, secondary: [] as ConstitutionCode[], primaryDetermination: 'YES' as const };

  it('is 0.4 for the questionnaire alone, plus clarity', () => {
    expect(confidenceOf({ ...base, methods: ['INQUIRY'], findings: [], primaryDetermination: 'NO' })).toBe(0.4);
    expect(confidenceOf({ ...base, methods: ['INQUIRY'], findings: [], primaryDetermination: 'TENDENCY' })).toBe(0.45);
    expect(confidenceOf({ ...base, methods: ['INQUIRY'], findings: [] })).toBe(0.5);
  });

  it('grows by 0.1 per method and with agreement of the findings', () => {
    const agreeing = finding('INSPECTION', ['QI_DEFICIENT']);
    const other = finding('LISTENING', ['DAMP_HEAT']);
    expect(confidenceOf({ ...base, methods: ['INQUIRY', 'INSPECTION', 'LISTENING'], findings: [agreeing, other] })).toBe(0.8);
    expect(confidenceOf({ ...base, methods: ['INQUIRY', 'INSPECTION', 'LISTENING'], findings: [other, other] })).toBe(0.7);
  });

  it('never exceeds 0.95', () => {
    const agreeing = finding('INSPECTION', ['QI_DEFICIENT']);
    expect(confidenceOf({ ...base, methods: ['INQUIRY', 'INSPECTION', 'LISTENING', 'PALPATION'], findings: [agreeing] })).toBe(0.95);
  });
});

describe('synthesize', () => {
  it('combines the methods into a report', () => {
    const report = synthesize({
      inquiry: inquiry({ YIN_DEFICIENT: 45, QI_STAGNATION: 31, BALANCED: 30 }),
      findings: [
        finding('INSPECTION', ['YIN_DEFICIENT'], ['KIDNEY_YIN_DEFICIENCY'], 'TONGUE_CRIMSON'),
        finding('PALPATION', ['YIN_DEFICIENT', 'DAMP_HEAT'], ['KIDNEY_YIN_DEFICIENCY', 'LIVER_FIRE_BLAZING'], 'PULSE_RAPID'),
      ],
      methods: ['PALPATION', 'INQUIRY', 'INSPECTION'],
      pulse: { rhythm: 'REGULAR', rateCategory: 'RAPID' },
    });
    expect(report).toMatchObject({
      primaryConstitution: 'YIN_DEFICIENT',
      secondaryConstitutions: ['QI_STAGNATION'],
      suggestedSyndromes: ['KIDNEY_YIN_DEFICIENCY'],
      methods: ['INQUIRY', 'INSPECTION', 'PALPATION'],
    });
    expect(report.findings.map((f) => f.code)).toEqual(['QUESTIONNAIRE_YIN_DEFICIENT', 'QUESTIONNAIRE_QI_STAGNATION', 'TONGUE_CRIMSON', 'PULSE_RAPID']);
    expect(report.findings[0]!.description).toBe('体质问卷：阴虚质判定为“是”（45.0 分）');
    // 0.4 + 2 methods + both findings agree + primary YES.
    expect(report.confidence).toBe(0.9);
    expect(report.adviceSummary).toContain('体质以阴虚质为主，兼有气郁质倾向');
    expect(report.adviceSummary).toContain('肾阴虚证');
    expect(report.adviceSummary).toContain('静息脉率偏快');
    expect(report.adviceSummaryEn).toContain('Mainly yin-deficient, with qi-stagnation tendencies');
  });

  it('advises an ECG for an irregular pulse', () => {
    const report = synthesize({ inquiry: inquiry({}), findings: [], methods: ['INQUIRY', 'PALPATION'], pulse: { rhythm: 'IRREGULAR', rateCategory: 'NORMAL' } });
    expect(report.adviceSummary).toContain('心电图');
    expect(report.adviceSummaryEn).toContain('ECG');
  });

  it('lists questionnaire determinations as INQUIRY findings, skipping NO', () => {
    expect(inquiryFindings(inquiry({ BALANCED: 70 })).map((f) => [f.method, f.code])).toEqual([['INQUIRY', 'QUESTIONNAIRE_BALANCED']]);
  });
});

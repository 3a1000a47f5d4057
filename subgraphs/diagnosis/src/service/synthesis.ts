import { CONSTITUTION_CODES, CONSTITUTIONS, type ConstitutionCode } from './constitutions.js';
import { isNormalFinding, METHODS, type Finding, type Method } from './findings.js';
import type { Rhythm, RateCategory } from './palpation.js';
import { determineAll, primaryAndSecondary, type Determination } from './scoring.js';
import { SYNDROME_CODES, SYNDROMES, SYNDROMES_OF_CONSTITUTION, type SyndromeCode } from './syndromes.js';

/**
 * Synthesis (四诊合参): combines the questionnaire with what inspection,
 * listening and palpation found into one report. Pure; every weight is here.
 *
 * Scores. The questionnaire's converted score of each constitution is the
 * base. Each finding of another method adds its method's weight (points) to
 * every constitution it points to; BALANCED gains the weight of each normal
 * finding and loses the weight of each abnormal one. The adjustment is capped
 * at ±MAX_ADJUSTMENT points, so observations refine but never overturn a
 * questionnaire; the combined score is clamped to 0–100. Determinations,
 * primary and secondary constitutions then follow the questionnaire rules
 * (scoring.ts) applied to the combined scores.
 *
 * Syndromes. A syndrome scores the weights of the findings that name it, plus
 * PRIMARY_BONUS when it is typical of the primary constitution and
 * SECONDARY_BONUS when typical of a secondary one. It is suggested when at
 * least one finding names it and it scores at least SYNDROME_THRESHOLD; at
 * most MAX_SYNDROMES, highest first. The questionnaire alone never suggests a
 * syndrome: differentiation needs observed signs.
 *
 * Confidence (0–1): BASE, plus PER_METHOD for each method besides inquiry,
 * plus AGREEMENT × the share of those methods' findings that point to the
 * primary or a secondary constitution, plus CLARITY by the primary's
 * determination; at most MAX_CONFIDENCE (a screening is never certain).
 */
export const WEIGHTS = {
  method: { INQUIRY: 0, INSPECTION: 6, LISTENING: 4, PALPATION: 5 } satisfies Record<Method, number>,
  MAX_ADJUSTMENT: 15,
  PRIMARY_BONUS: 4,
  SECONDARY_BONUS: 2,
  SYNDROME_THRESHOLD: 8,
  MAX_SYNDROMES: 3,
  confidence: {
    BASE: 0.4,
    PER_METHOD: 0.1,
    AGREEMENT: 0.2,
    CLARITY: { YES: 0.1, BASICALLY_YES: 0.05, TENDENCY: 0.05, NO: 0 } satisfies Record<Determination, number>,
    MAX: 0.95,
  },
} as const;

export interface InquiryScoreLike {
  constitution: ConstitutionCode;
  score: number;
  determination: Determination;
}

export interface SynthesisInput {
  /** The questionnaire's scores, one per constitution (required). */
  inquiry: readonly InquiryScoreLike[];
  /** Findings of inspection, listening and palpation, with their method. */
  findings: readonly Finding[];
  /** The methods that were performed (inquiry included). */
  methods: readonly Method[];
  /** The classified pulse, when palpation was performed (for safety advice). */
  pulse?: { rhythm: Rhythm; rateCategory: RateCategory } | undefined;
}

export interface ReportScore {
  constitution: ConstitutionCode;
  inquiryScore: number;
  adjustment: number;
  score: number;
  determination: Determination;
}

export interface ReportContent {
  primaryConstitution: ConstitutionCode;
  secondaryConstitutions: ConstitutionCode[];
  scores: ReportScore[];
  findings: Finding[];
  suggestedSyndromes: SyndromeCode[];
  confidence: number;
  adviceSummary: string;
  adviceSummaryEn: string;
  methods: Method[];
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
const round = (value: number, decimals: number) => Number(value.toFixed(decimals));

/** Points each constitution gains (or BALANCED loses) from the findings, before the cap. */
export function evidence(findings: readonly Finding[]): Record<ConstitutionCode, number> {
  const support = Object.fromEntries(CONSTITUTION_CODES.map((c) => [c, 0])) as Record<ConstitutionCode, number>;
  for (const finding of findings) {
    const weight = WEIGHTS.method[finding.method];
    if (isNormalFinding(finding)) {
      support.BALANCED += weight;
      continue;
    }
    support.BALANCED -= weight;
    for (const code of finding.constitutions) if (code !== 'BALANCED') support[code] += weight;
  }
  return support;
}

export function combineScores(inquiry: readonly InquiryScoreLike[], findings: readonly Finding[]): ReportScore[] {
  const support = evidence(findings);
  const byCode = new Map(inquiry.map((s) => [s.constitution, s.score]));
  const combined = Object.fromEntries(
    CONSTITUTION_CODES.map((c) => {
      const base = byCode.get(c);
      if (base === undefined) throw new Error(`synthesis needs an inquiry score for every constitution; ${c} is missing`);
      return [c, base];
    }),
  ) as Record<ConstitutionCode, number>;
  const adjustments = {} as Record<ConstitutionCode, number>;
  for (const c of CONSTITUTION_CODES) {
    adjustments[c] = clamp(support[c], -WEIGHTS.MAX_ADJUSTMENT, WEIGHTS.MAX_ADJUSTMENT);
    combined[c] = clamp(combined[c] + adjustments[c], 0, 100);
  }
  const determinations = determineAll(combined);
  return CONSTITUTION_CODES.map((c) => ({
    constitution: c,
    inquiryScore: byCode.get(c)!,
    adjustment: adjustments[c],
    score: combined[c],
    determination: determinations[c],
  }));
}

export function suggestSyndromes(findings: readonly Finding[], primary: ConstitutionCode, secondary: readonly ConstitutionCode[]): SyndromeCode[] {
  const fromFindings = new Map<SyndromeCode, number>();
  for (const finding of findings) {
    for (const s of finding.syndromes) fromFindings.set(s, (fromFindings.get(s) ?? 0) + WEIGHTS.method[finding.method]);
  }
  const typical = (code: ConstitutionCode): readonly SyndromeCode[] => (code === 'BALANCED' ? [] : SYNDROMES_OF_CONSTITUTION[code]);
  const scored = [...fromFindings].map(([code, points]) => {
    let score = points;
    if (typical(primary).includes(code)) score += WEIGHTS.PRIMARY_BONUS;
    if (secondary.some((c) => typical(c).includes(code))) score += WEIGHTS.SECONDARY_BONUS;
    return { code, score };
  });
  return scored
    .filter((s) => s.score >= WEIGHTS.SYNDROME_THRESHOLD)
    .sort((a, b) => b.score - a.score || SYNDROME_CODES.indexOf(a.code) - SYNDROME_CODES.indexOf(b.code))
    .slice(0, WEIGHTS.MAX_SYNDROMES)
    .map((s) => s.code);
}

export function confidenceOf(input: {
  methods: readonly Method[];
  findings: readonly Finding[];
  primary: ConstitutionCode;
  secondary: readonly ConstitutionCode[];
  primaryDetermination: Determination;
}): number {
  const c = WEIGHTS.confidence;
  const otherMethods = new Set(input.methods.filter((m) => m !== 'INQUIRY')).size;
  const considered = input.findings.filter((f) => f.method !== 'INQUIRY');
  const described = new Set([input.primary, ...input.secondary]);
  const agreeing = considered.filter((f) => f.constitutions.some((code) => described.has(code))).length;
  const agreement = considered.length === 0 ? 0 : agreeing / considered.length;
  const total = c.BASE + c.PER_METHOD * otherMethods + c.AGREEMENT * agreement + c.CLARITY[input.primaryDetermination];
  return round(Math.min(c.MAX, total), 2);
}

/** The questionnaire's conclusions as findings, so the report lists every method's part. */
export function inquiryFindings(inquiry: readonly InquiryScoreLike[]): Finding[] {
  const label: Record<Determination, [string, string]> = {
    YES: ['是', 'yes'],
    BASICALLY_YES: ['基本是', 'basically yes'],
    TENDENCY: ['倾向是', 'a tendency'],
    NO: ['否', 'no'],
  };
  return inquiry
    .filter((s) => s.determination !== 'NO')
    .map((s) => {
      const info = CONSTITUTIONS[s.constitution];
      const [zh, en] = label[s.determination];
      return {
        method: 'INQUIRY' as const,
        code: `QUESTIONNAIRE_${s.constitution}`,
        description: `体质问卷：${info.name}判定为“${zh}”（${s.score.toFixed(1)} 分）`,
        descriptionEn: `Constitution questionnaire: ${info.nameEn} is ${en} (score ${s.score.toFixed(1)})`,
        constitutions: [s.constitution],
        syndromes: [],
      };
    });
}

function advice(primary: ConstitutionCode, secondary: readonly ConstitutionCode[], syndromes: readonly SyndromeCode[], pulse: SynthesisInput['pulse']) {
  const zh: string[] = [];
  const en: string[] = [];
  const info = CONSTITUTIONS[primary];
  const secondaryZh = secondary.map((c) => CONSTITUTIONS[c].name).join('、');
  const secondaryEn = secondary.map((c) => CONSTITUTIONS[c].nameEn).join(', ');
  zh.push(`体质以${info.name}为主${secondary.length ? `，兼有${secondaryZh}倾向` : ''}。${info.advice}`);
  en.push(`Mainly ${info.nameEn}${secondary.length ? `, with ${secondaryEn} tendencies` : ''}. ${info.adviceEn}`);
  if (syndromes.length > 0) {
    zh.push(`四诊所见提示：${syndromes.map((s) => SYNDROMES[s].name).join('、')}，可请中医师进一步辨证。`);
    en.push(`The findings suggest ${syndromes.map((s) => SYNDROMES[s].nameEn).join(', ')}; a TCM practitioner can confirm this.`);
  }
  if (pulse?.rhythm === 'IRREGULAR') {
    zh.push('脉律不齐，建议到医院做心电图检查。');
    en.push('The pulse was irregular: please have an ECG at a clinic.');
  } else if (pulse && pulse.rateCategory !== 'NORMAL') {
    zh.push(`静息脉率${pulse.rateCategory === 'SLOW' ? '偏慢' : '偏快'}，如伴有不适请及时就医。`);
    en.push(`The resting pulse was ${pulse.rateCategory === 'SLOW' ? 'slow' : 'fast'}; see a doctor if you feel unwell.`);
  }
  zh.push('以上结果用于健康管理参考，不能代替医生诊断。');
  en.push('This is guidance for self-care, not a medical diagnosis.');
  return { adviceSummary: zh.join(''), adviceSummaryEn: en.join(' ') };
}

/** Builds the report content. The inquiry is required; other methods are optional. */
export function synthesize(input: SynthesisInput): ReportContent {
  const observed = input.findings.filter((f) => f.method !== 'INQUIRY');
  const scores = combineScores(input.inquiry, observed);
  const { primary, secondary } = primaryAndSecondary(scores);
  const primaryDetermination = scores.find((s) => s.constitution === primary)!.determination;
  const suggestedSyndromes = suggestSyndromes(observed, primary, secondary);
  const methods = METHODS.filter((m) => m === 'INQUIRY' || input.methods.includes(m));
  return {
    primaryConstitution: primary,
    secondaryConstitutions: secondary,
    scores,
    findings: [...inquiryFindings(input.inquiry), ...observed],
    suggestedSyndromes,
    confidence: confidenceOf({ methods, findings: observed, primary, secondary, primaryDetermination }),
    ...advice(primary, secondary, suggestedSyndromes, input.pulse),
    methods,
  };
}

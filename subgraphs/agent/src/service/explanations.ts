import { badInput, isUuid, ServiceCallError, type Database, type GatewayRequest } from '@suoke/platform';
import { findExplanation, retractExplanation, storeExplanation, type ExplanationRef } from '../db/explanations.js';
import type { CitationRef } from '../db/schema.js';

/** The agent who explains reports: the health assistant who guides the consultation. */
export const EXPLAINING_AGENT = 'xiaoai';

export interface ExplainReportInput {
  key: string;
  userId: string;
  reportId: string;
  primaryConstitution: string;
  secondaryConstitutions: readonly string[];
  suggestedSyndromes: readonly string[];
  confidence: number;
  advice: string;
}

const CODE = /^[A-Z][A-Z_]{1,59}$/;

/** The input as stored, or BAD_USER_INPUT naming the first field that breaks its contract and what it received. */
export function checkExplainInput(input: ExplainReportInput): ExplainReportInput {
  const key = input.key.trim();
  if (key.length < 1 || key.length > 200) throw badInput(`key must have 1–200 characters; received ${key.length}`, 'input.key');
  if (!isUuid(input.userId)) throw badInput(`userId must be a UUID; received ${JSON.stringify(input.userId)}`, 'input.userId');
  if (!isUuid(input.reportId)) throw badInput(`reportId must be a UUID; received ${JSON.stringify(input.reportId)}`, 'input.reportId');
  const code = (value: string, field: string) => {
    const upper = value.trim().toUpperCase();
    if (!CODE.test(upper)) throw badInput(`${field} must be a code such as QI_DEFICIENT; received ${JSON.stringify(value)}`, `input.${field}`);
    return upper;
  };
  if (input.secondaryConstitutions.length > 8) throw badInput(`secondaryConstitutions may list at most 8 codes; received ${input.secondaryConstitutions.length}`, 'input.secondaryConstitutions');
  if (input.suggestedSyndromes.length > 5) throw badInput(`suggestedSyndromes may list at most 5 codes; received ${input.suggestedSyndromes.length}`, 'input.suggestedSyndromes');
  if (!Number.isFinite(input.confidence) || input.confidence < 0 || input.confidence > 1) {
    throw badInput(`confidence must be between 0 and 1; received ${input.confidence}`, 'input.confidence');
  }
  const advice = input.advice.trim();
  const adviceLength = [...advice].length;
  if (adviceLength < 1 || adviceLength > 2000) throw badInput(`advice must have 1–2000 characters; received ${adviceLength}`, 'input.advice');
  return {
    key,
    userId: input.userId.toLowerCase(),
    reportId: input.reportId.toLowerCase(),
    primaryConstitution: code(input.primaryConstitution, 'primaryConstitution'),
    secondaryConstitutions: input.secondaryConstitutions.map((c, i) => code(c, `secondaryConstitutions[${i}]`)),
    suggestedSyndromes: input.suggestedSyndromes.map((c, i) => code(c, `suggestedSyndromes[${i}]`)),
    confidence: input.confidence,
    advice,
  };
}

interface ConstitutionInfo {
  code: string;
  name: string;
  summary: string;
}
interface SyndromeInfo {
  code: string;
  name: string;
  treatmentPrinciple: string;
}

/** What the explanation says about each code, read from the knowledge subgraph through the gateway. */
export interface ReportKnowledge {
  constitutions: Map<string, ConstitutionInfo>;
  syndromes: Map<string, SyndromeInfo>;
}

/** One request for every code of a report (one alias per code). Throws ServiceCallError when the gateway does not answer. */
export function gatewayReportKnowledge(request: GatewayRequest) {
  return async (constitutionCodes: readonly string[], syndromeCodes: readonly string[]): Promise<ReportKnowledge> => {
    const variables: Record<string, string> = {};
    const fields: string[] = [];
    const params: string[] = [];
    constitutionCodes.forEach((code, i) => {
      variables[`c${i}`] = code;
      params.push(`$c${i}: ID!`);
      fields.push(`c${i}: constitution(code: $c${i}) { code name summary }`);
    });
    syndromeCodes.forEach((code, i) => {
      variables[`s${i}`] = code;
      params.push(`$s${i}: ID!`);
      fields.push(`s${i}: syndrome(code: $s${i}) { code name treatmentPrinciple }`);
    });
    const data = await request<Record<string, (ConstitutionInfo & SyndromeInfo) | null>>(
      'ReportKnowledge',
      `query ReportKnowledge(${params.join(', ')}) { ${fields.join(' ')} }`,
      variables,
    );
    const constitutions = new Map<string, ConstitutionInfo>();
    const syndromes = new Map<string, SyndromeInfo>();
    for (const [alias, value] of Object.entries(data)) {
      if (!value) continue;
      if (alias.startsWith('c')) constitutions.set(value.code, value);
      else syndromes.set(value.code, value);
    }
    return { constitutions, syndromes };
  };
}

export type KnowledgeLookup = ReturnType<typeof gatewayReportKnowledge>;

/** XiaoAI's explanation, in the app's language, with the entities it relies on as citations. */
export function composeExplanation(input: ExplainReportInput, knowledge: ReportKnowledge): { text: string; citations: CitationRef[] } {
  const primary = knowledge.constitutions.get(input.primaryConstitution);
  if (!primary) throw badInput(`primaryConstitution must be a known constitution code; received ${JSON.stringify(input.primaryConstitution)}`, 'input.primaryConstitution');
  const secondaries = input.secondaryConstitutions.flatMap((code) => knowledge.constitutions.get(code) ?? []);
  const syndromes = input.suggestedSyndromes.flatMap((code) => knowledge.syndromes.get(code) ?? []);
  const lines = [
    '【小艾为你解读体质报告】',
    `你的四诊合参报告已经生成。你的主要体质是「${primary.name}」：${primary.summary}`,
  ];
  if (secondaries.length > 0) {
    lines.push(`同时兼有${secondaries.map((c) => `「${c.name}」`).join('、')}的倾向：${secondaries.map((c) => c.summary).join(' ')}`);
  }
  if (syndromes.length > 0) {
    lines.push(`报告提示可留意的证候：${syndromes.map((s) => `${s.name}（治法：${s.treatmentPrinciple}）`).join('；')}。`);
  }
  lines.push(`这份报告的可信度约为 ${Math.round(input.confidence * 100)}%：完成的诊法越多，结果越可靠。`);
  lines.push(`调养建议：${input.advice}`);
  lines.push('想了解某一条建议的做法，直接在这里问我就好。以上内容用于健康管理参考，不能代替医生诊断；身体不适请及时就医。');
  const citations: CitationRef[] = [
    { kind: 'CONSTITUTION', key: primary.code },
    ...secondaries.map((c) => ({ kind: 'CONSTITUTION' as const, key: c.code })),
    ...syndromes.map((s) => ({ kind: 'SYNDROME' as const, key: s.code })),
  ];
  return { text: lines.join('\n'), citations };
}

/**
 * The saga step "explain the report" and its compensation. A key already used
 * answers from storage without asking the knowledge base again.
 */
export class ExplanationService {
  constructor(private readonly deps: { database: Database; knowledge: KnowledgeLookup }) {}

  async explain(raw: ExplainReportInput): Promise<ExplanationRef> {
    const input = checkExplainInput(raw);
    const existing = await findExplanation(this.deps.database, input.key);
    if (existing) return existing;
    let knowledge: ReportKnowledge;
    try {
      knowledge = await this.deps.knowledge([input.primaryConstitution, ...input.secondaryConstitutions], input.suggestedSyndromes);
    } catch (error) {
      // Masked for the caller as an internal error, which it treats as transient and retries.
      throw new Error(`the knowledge base could not be read for report ${input.reportId}`, { cause: error instanceof ServiceCallError ? error.message : error });
    }
    const { text, citations } = composeExplanation(input, knowledge);
    return storeExplanation(this.deps.database, { key: input.key, userId: input.userId, reportId: input.reportId, agentId: EXPLAINING_AGENT, text, citations });
  }

  async retract(key: string): Promise<boolean> {
    const trimmed = key.trim();
    if (trimmed.length < 1 || trimmed.length > 200) throw badInput(`key must have 1–200 characters; received ${trimmed.length}`, 'key');
    await retractExplanation(this.deps.database, trimmed);
    return true;
  }
}

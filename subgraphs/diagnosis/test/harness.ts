import { sql } from 'drizzle-orm';
import type { Database } from '@suoke/platform';
import { startTestSubgraph, type TestGraphQLResponse } from '@suoke/platform/testing';
import { definition } from '../src/server.js';

export type GraphQLResponse<T = Record<string, unknown>> = TestGraphQLResponse<T>;

export type Caller = { id: string; roles?: string[] } | undefined;

/** The diagnosis subgraph on port 0 over a fresh database, called over HTTP as the gateway calls it. */
export function startDiagnosis() {
  return startTestSubgraph(definition);
}

export type Diagnosis = Awaited<ReturnType<typeof startDiagnosis>>;

export function codes(response: GraphQLResponse<unknown>): Array<string | undefined> {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

export async function countRows(database: Database, table: 'consultations' | 'method_results' | 'reports' | 'questions'): Promise<number> {
  const rows = await database.rows<{ n: number }>(sql`select count(*)::int as n from ${sql.raw(`"diagnosis".${table}`)}`);
  return rows[0]?.n ?? 0;
}

export const CONSULTATION_FIELDS = /* GraphQL */ `
  id status agent { id } startedAt completedAt cancelledAt
  inquiry { primary { code } secondary { code } submittedAt scores { constitution { code } score determination rawScore questionCount } }
  inspection { complexion tongue { bodyColour coatingColour coatingThickness moisture teethMarks cracks swollen } findings { method code description descriptionEn constitutions { code } syndromes { code } } }
  listening { voiceVolume breathless cough odour frequentSighing findings { code constitutions { code } } }
  palpation { rateBpm rateCategory rhythm strength beatCount durationSeconds meanIntervalMs rmssdMs intervalCv relativeAmplitude signalToNoise findings { code } }
  report {
    id primaryConstitution { code } secondaryConstitutions { code } confidence methods adviceSummary adviceSummaryEn createdAt
    scores { constitution { code } inquiryScore adjustment score determination }
    findings { method code constitutions { code } syndromes { code } }
    suggestedSyndromes { code }
  }
`;

export const QUESTIONNAIRE = /* GraphQL */ `
  query { constitutionQuestionnaire { id text textEn reverseScored constitution { code } } }
`;

export interface QuestionView {
  id: string;
  text: string;
  textEn: string;
  reverseScored: boolean;
  constitution: { code: string };
}

/** Answers leaning to `lean`: its questions "often", BALANCED's reverse-scored ones "sometimes", the rest "never". */
export function answersLeaningTo(questions: readonly QuestionView[], lean: string): Array<{ questionId: string; value: number }> {
  return questions.map((q) => {
    if (q.constitution.code === lean) return { questionId: q.id, value: lean === 'BALANCED' && q.reverseScored ? 1 : 4 };
    if (q.constitution.code === 'BALANCED') return { questionId: q.id, value: 3 };
    return { questionId: q.id, value: 1 };
  });
}

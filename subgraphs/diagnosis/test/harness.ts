import { sql } from 'drizzle-orm';
import { sqlStats, type Database } from '@suoke/platform';
import { createTestDatabase, testToken } from '@suoke/platform/testing';
import { createDiagnosisSubgraph, loadDiagnosisConfig, migrate } from '../src/server.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: { code?: string; field?: string } }>;
}

export type Caller = { id: string; roles?: string[] } | undefined;

/**
 * The diagnosis subgraph on port 0 over a fresh database (PGlite in memory, or
 * a new PostgreSQL database when DATABASE_URL is set), queried over HTTP so
 * that the context, and so authentication, is built from the request as in production.
 */
export async function startDiagnosis() {
  const testDatabase = await createTestDatabase('diagnosis');
  const { database } = testDatabase;
  await migrate(database);
  const subgraph = createDiagnosisSubgraph({ config: loadDiagnosisConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }), database });
  const { url } = await subgraph.listen(0, '127.0.0.1');

  async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}, caller?: Caller): Promise<GraphQLResponse<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (caller) headers.authorization = `Bearer ${await testToken(caller)}`;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return { status: response.status, ...((await response.json()) as Omit<GraphQLResponse<T>, 'status'>) };
  }

  return {
    database,
    url,
    gql,
    /** Runs `fn` and returns how many SQL statements it sent (process-wide counter). */
    async countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
      const before = sqlStats.statements;
      const result = await fn();
      return { result, statements: sqlStats.statements - before };
    },
    async close() {
      await subgraph.stop();
      await testDatabase.drop();
    },
  };
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

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { ServiceCallError, type Database } from '@suoke/platform';
import { startTestSubgraph, type TestGraphQLResponse } from '@suoke/platform/testing';
import type { SagaStepName } from '../src/db/schema.js';
import type { SagaStep, StepCall } from '../src/service/saga.js';
import { definition } from '../src/server.js';

export type GraphQLResponse<T = Record<string, unknown>> = TestGraphQLResponse<T>;

export type Caller = { id: string; roles?: string[] } | undefined;

/**
 * The diagnosis subgraph on port 0 over a fresh database, called over HTTP as
 * the gateway calls it. The report saga's steps are test doubles (succeeding
 * unless told otherwise): the agent and user subgraphs are not running here.
 */
export function startDiagnosis(options: { steps?: SagaStep[]; env?: Record<string, string>; createOptions?: Record<string, unknown> } = {}) {
  return startTestSubgraph(definition, {
    env: { SAGA_SWEEP_MS: '0', SAGA_RETRY_BASE_MS: '1', MEDIA_DIR: mkdtempSync(path.join(tmpdir(), 'suoke-diagnosis-media-')), ...options.env },
    createOptions: { sagaSteps: options.steps ?? fakeSteps().steps, ...options.createOptions },
  });
}

export interface StepCallRecord {
  step: SagaStepName;
  action: 'run' | 'compensate';
  key: string;
  reportId: string;
}

type Behaviour = (call: StepCall) => Promise<unknown>;

/**
 * Saga steps that record every call in order. A step runs `behaviour[step]`
 * when set (throw to fail, never resolve to hang) and succeeds otherwise;
 * compensations likewise with `compensation[step]`. Both maps are read at
 * call time, so a test can change them between consultations.
 */
export function fakeSteps() {
  const calls: StepCallRecord[] = [];
  const behaviour: Partial<Record<SagaStepName, Behaviour>> = {};
  const compensation: Partial<Record<SagaStepName, Behaviour>> = {};
  const step = (name: SagaStepName): SagaStep => ({
    name,
    failureReason: `${name} failed`,
    run: async (call) => {
      calls.push({ step: name, action: 'run', key: call.key, reportId: call.report.id });
      const act = behaviour[name];
      return act ? act(call) : { ok: name };
    },
    compensate: async (call) => {
      calls.push({ step: name, action: 'compensate', key: call.key, reportId: call.report.id });
      const act = compensation[name];
      if (act) await act(call);
    },
  });
  return { calls, behaviour, compensation, steps: [step('EXPLAIN'), step('NOTIFY')] };
}

/** A failure the saga classifies as the given kind (see classifyStepError). */
export function stepError(transient: boolean, message = transient ? 'connection reset' : 'refused'): ServiceCallError {
  return new ServiceCallError(message, { transient, code: transient ? undefined : 'BAD_USER_INPUT' });
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

/**
 * Makes every claim of a saga (a new lease token) fail inside the database, as a
 * lost connection would, after the completion's own transaction committed.
 * Returns the undo.
 */
export async function refuseSagaClaims(database: { exec(sql: string): Promise<unknown> }): Promise<() => Promise<unknown>> {
  await database.exec(`
    create or replace function "diagnosis".test_refuse_claims() returns trigger language plpgsql as $$
    begin
      if new.lease_token is not null and new.lease_token is distinct from old.lease_token then
        raise exception 'injected failure: saga claim refused' using errcode = '08006';
      end if;
      return new;
    end $$;
    create trigger test_refuse_claims before update on "diagnosis".report_sagas
      for each row execute function "diagnosis".test_refuse_claims();`);
  return () => database.exec('drop trigger if exists test_refuse_claims on "diagnosis".report_sagas');
}

import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Database, arrayParam, isUuid, rowsOf } from '@suoke/platform';
import { selectQuestions } from './db/queries.js';
import type { MethodResultData, MethodResults, QuestionRow } from './db/schema.js';
import { PRESENTATIONS } from './seed-profiles.js';
import { AGENT_IDS } from './service/agents.js';
import { CONSTITUTION_CODES, type ConstitutionCode } from './service/constitutions.js';
import type { Method } from './service/findings.js';
import { inspect } from './service/inspection.js';
import { listen } from './service/listening.js';
import { palpate } from './service/palpation.js';
import { reportFromResults } from './service/report.js';
import { scoreInquiry, type AnswerInput } from './service/scoring.js';
import type { ReportContent } from './service/synthesis.js';
import { prng, syntheticPulse } from './service/synthetic-pulse.js';

export interface SeedDiagnosisOptions {
  /** Users to seed (ids from the user subgraph). */
  userIds: string[];
  /** The instant seeding happens at; consultations are dated before it. Default: now. */
  now?: Date;
}

export interface SeedDiagnosisResult {
  /** Consultations created; those seeded before are left as they are. */
  consultations: number;
  reports: number;
}

/** Users per transaction: three statements each, whatever the number of users in it. */
const CHUNK = 1000;
const DAY = 86_400_000;

/**
 * Gives every user two completed consultations with reports: an older one
 * with inquiry and inspection, a recent one with all four methods. Each user
 * leans to one constitution (sometimes with a second tendency), fixed by the
 * user id; answers, observations and a synthetic pulse follow from it, and the
 * results and reports are computed by the same code as real consultations.
 * Ids derive from (user, n), so a second run stores nothing. Statements are
 * batched: one to read the questionnaire, then three per CHUNK users.
 */
export async function seedDiagnosis(database: Database, options: SeedDiagnosisOptions): Promise<SeedDiagnosisResult> {
  const invalid = options.userIds.filter((id) => !isUuid(id));
  if (invalid.length > 0) throw new Error(`seedDiagnosis: user ids must be UUIDs; received ${invalid.join(', ')}`);
  const userIds = [...new Set(options.userIds)];
  if (userIds.length === 0) return { consultations: 0, reports: 0 };
  const now = options.now ?? new Date();
  const questions = await selectQuestions(database);
  const result: SeedDiagnosisResult = { consultations: 0, reports: 0 };
  for (let start = 0; start < userIds.length; start += CHUNK) {
    const seeded = userIds.slice(start, start + CHUNK).flatMap((userId) => [1, 2].map((n) => seedConsultation(questions, userId, n as 1 | 2, now)));
    const stored = await storeSeeded(database, seeded);
    result.consultations += stored.consultations;
    result.reports += stored.reports;
  }
  return result;
}

interface SeededConsultation {
  id: string;
  userId: string;
  agentId: string;
  startedAt: Date;
  completedAt: Date;
  results: Array<{ method: Method; input: unknown; result: MethodResultData; submittedAt: Date }>;
  reportId: string;
  report: ReportContent;
}

/** A UUID (version 5 layout) fixed by `name`. */
export function seedUuid(name: string): string {
  const bytes = createHash('sha1').update(`suoke-diagnosis-seed:${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A number in [0, 1) fixed by its inputs. */
function unit(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('|')).digest().readUInt32BE(0) / 2 ** 32;
}

const pick = <T>(list: readonly T[], u: number): T => list[Math.floor(u * list.length)]!;

/** Answers leaning to `lean` (often, always), with a milder `tendency` (rarely, sometimes), the rest (never, rarely). */
function answersFor(questions: readonly QuestionRow[], lean: ConstitutionCode, tendency: ConstitutionCode | undefined, salt: string): AnswerInput[] {
  return questions.map((q) => {
    const jitter = unit(salt, q.id) < 0.5 ? 0 : 1;
    let value: number;
    if (q.constitution === 'BALANCED') {
      // Healthy people affirm the forward questions and deny the reverse-scored ones.
      const healthy = lean === 'BALANCED';
      value = q.reverseScored ? (healthy ? 1 : 3) + jitter : (healthy ? 4 : 2) + jitter;
    } else if (q.constitution === lean) value = 4 + jitter;
    else if (q.constitution === tendency) value = 2 + jitter;
    else value = 1 + jitter;
    return { questionId: q.id, value };
  });
}

function seedConsultation(questions: readonly QuestionRow[], userId: string, n: 1 | 2, now: Date): SeededConsultation {
  const lean = pick(CONSTITUTION_CODES, unit(userId, 'lean'));
  const tendency = unit(userId, 'has-tendency') < 0.5 ? pick(CONSTITUTION_CODES.filter((c) => c !== lean && c !== 'BALANCED'), unit(userId, 'tendency')) : undefined;
  const id = seedUuid(`${userId}:${n}`);
  const startedAt = new Date(now.getTime() - (n === 1 ? 35 : 6) * DAY - Math.floor(unit(userId, n, 'start') * DAY));
  const at = (minutes: number) => new Date(startedAt.getTime() + minutes * 60_000);
  const presentation = PRESENTATIONS[lean];

  const answers = answersFor(questions, lean, tendency, `${userId}:${n}`);
  const results: SeededConsultation['results'] = [{ method: 'INQUIRY', input: { answers }, result: scoreInquiry(questions, answers), submittedAt: at(6) }];
  results.push({ method: 'INSPECTION', input: presentation.inspection, result: { ...presentation.inspection, findings: inspect(presentation.inspection) }, submittedAt: at(8) });
  if (n === 2) {
    results.push({ method: 'LISTENING', input: presentation.listening, result: { ...presentation.listening, findings: listen(presentation.listening) }, submittedAt: at(10) });
    const { bpm, amplitude, irregular } = presentation.pulse;
    const rate = bpm + (unit(userId, 'bpm') - 0.5) * 4;
    const uniform = prng(Math.floor(unit(userId, 'pulse') * 2 ** 31));
    const intervals = irregular ? Array.from({ length: 40 }, () => 0.55 + 0.7 * uniform()) : undefined;
    const recording = { sampleRate: 50, samples: syntheticPulse({ sampleRate: 50, seconds: 20, bpm: rate, amplitude, noise: 0.05, wander: 0.2, seed: Math.floor(uniform() * 2 ** 31), ...(intervals ? { intervals } : {}) }).samples };
    results.push({ method: 'PALPATION', input: { sampleRate: 50, sampleCount: recording.samples.length, referenceAmplitude: 1 }, result: palpate(recording), submittedAt: at(12) });
  }
  const byMethod = Object.fromEntries(results.map((r) => [r.method, { ...r.result, submittedAt: r.submittedAt }])) as MethodResults;
  return {
    id,
    userId,
    agentId: pick(AGENT_IDS, unit(userId, n, 'agent')),
    startedAt,
    completedAt: at(15),
    results,
    reportId: seedUuid(`${userId}:${n}:report`),
    report: reportFromResults(byMethod, id),
  };
}

async function storeSeeded(database: Database, seeded: readonly SeededConsultation[]): Promise<SeedDiagnosisResult> {
  const results = seeded.flatMap((c) => c.results.map((r) => ({ consultationId: c.id, ...r })));
  const json = (value: unknown) => JSON.stringify(value);
  return database.db.transaction(async (tx) => {
    const inserted = await tx.execute(sql`
      insert into "diagnosis".consultations (id, user_id, agent_id, status, started_at, completed_at)
      select id, user_id, agent_id, 'COMPLETED', started_at, completed_at
      from unnest(
        ${arrayParam(seeded.map((c) => c.id), 'uuid')},
        ${arrayParam(seeded.map((c) => c.userId), 'uuid')},
        ${arrayParam(seeded.map((c) => c.agentId), 'text')},
        ${arrayParam(seeded.map((c) => c.startedAt), 'timestamptz')},
        ${arrayParam(seeded.map((c) => c.completedAt), 'timestamptz')}
      ) as t(id, user_id, agent_id, started_at, completed_at)
      on conflict (id) do nothing
      returning id`);
    await tx.execute(sql`
      insert into "diagnosis".method_results (consultation_id, method, input, result, submitted_at)
      select consultation_id, method, input::jsonb, result::jsonb, submitted_at
      from unnest(
        ${arrayParam(results.map((r) => r.consultationId), 'uuid')},
        ${arrayParam(results.map((r) => r.method), 'text')},
        ${arrayParam(results.map((r) => json(r.input)), 'text')},
        ${arrayParam(results.map((r) => json(r.result)), 'text')},
        ${arrayParam(results.map((r) => r.submittedAt), 'timestamptz')}
      ) as t(consultation_id, method, input, result, submitted_at)
      on conflict do nothing`);
    const reports = await tx.execute(sql`
      insert into "diagnosis".reports (id, consultation_id, user_id, primary_constitution, secondary_constitutions, scores,
                                       findings, suggested_syndromes, methods, confidence, advice_summary, advice_summary_en, created_at)
      select id, consultation_id, user_id, primary_constitution,
             array(select jsonb_array_elements_text(secondary::jsonb)), scores::jsonb, findings::jsonb,
             array(select jsonb_array_elements_text(syndromes::jsonb)), array(select jsonb_array_elements_text(methods::jsonb)),
             confidence, advice, advice_en, created_at
      from unnest(
        ${arrayParam(seeded.map((c) => c.reportId), 'uuid')},
        ${arrayParam(seeded.map((c) => c.id), 'uuid')},
        ${arrayParam(seeded.map((c) => c.userId), 'uuid')},
        ${arrayParam(seeded.map((c) => c.report.primaryConstitution), 'text')},
        ${arrayParam(seeded.map((c) => json(c.report.secondaryConstitutions)), 'text')},
        ${arrayParam(seeded.map((c) => json(c.report.scores)), 'text')},
        ${arrayParam(seeded.map((c) => json(c.report.findings)), 'text')},
        ${arrayParam(seeded.map((c) => json(c.report.suggestedSyndromes)), 'text')},
        ${arrayParam(seeded.map((c) => json(c.report.methods)), 'text')},
        ${arrayParam(seeded.map((c) => c.report.confidence), 'float8')},
        ${arrayParam(seeded.map((c) => c.report.adviceSummary), 'text')},
        ${arrayParam(seeded.map((c) => c.report.adviceSummaryEn), 'text')},
        ${arrayParam(seeded.map((c) => c.completedAt), 'timestamptz')}
      ) as t(id, consultation_id, user_id, primary_constitution, secondary, scores, findings, syndromes, methods,
             confidence, advice, advice_en, created_at)
      on conflict do nothing
      returning id`);
    return { consultations: rowsOf(inserted).length, reports: rowsOf(reports).length };
  });
}


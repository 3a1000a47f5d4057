import { boolean, doublePrecision, integer, jsonb, pgSchema, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { AgentId } from '../service/agents.js';
import type { ConstitutionCode } from '../service/constitutions.js';
import type { Finding, Method } from '../service/findings.js';
import type { MediaKind, TongueAnalysis, VoiceAnalysis } from '../media/contracts.js';
import type { InspectionInput } from '../service/inspection.js';
import type { ListeningInput } from '../service/listening.js';
import type { PalpationResult } from '../service/palpation.js';
import type { ConstitutionScore } from '../service/scoring.js';
import type { ReportScore } from '../service/synthesis.js';
import type { SyndromeCode } from '../service/syndromes.js';

/**
 * The diagnosis subgraph's own Postgres schema; no other subgraph reads it.
 * Mirrors migrations/, which are the source of truth.
 */
export const diagnosisSchema = pgSchema('diagnosis');

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export type ConsultationStatus = 'OPEN' | 'COMPLETED' | 'CANCELLED';

export const questions = diagnosisSchema.table('questions', {
  id: text('id').primaryKey(),
  constitution: text('constitution').notNull().$type<ConstitutionCode>(),
  position: integer('position').notNull(),
  text: text('text').notNull(),
  textEn: text('text_en').notNull(),
  reverseScored: boolean('reverse_scored').notNull(),
});

export const consultations = diagnosisSchema.table('consultations', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  agentId: text('agent_id').notNull().$type<AgentId>(),
  status: text('status').notNull().$type<ConsultationStatus>(),
  startedAt: instant('started_at').notNull().defaultNow(),
  completedAt: instant('completed_at'),
  cancelledAt: instant('cancelled_at'),
});

export const methodResults = diagnosisSchema.table(
  'method_results',
  {
    consultationId: uuid('consultation_id').notNull(),
    method: text('method').notNull().$type<Method>(),
    input: jsonb('input').notNull().$type<unknown>(),
    result: jsonb('result').notNull().$type<MethodResultData>(),
    submittedAt: instant('submitted_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.consultationId, table.method] })],
);

export const reports = diagnosisSchema.table('reports', {
  id: uuid('id').primaryKey().defaultRandom(),
  consultationId: uuid('consultation_id').notNull(),
  userId: uuid('user_id').notNull(),
  primaryConstitution: text('primary_constitution').notNull().$type<ConstitutionCode>(),
  secondaryConstitutions: text('secondary_constitutions').array().notNull().$type<ConstitutionCode[]>(),
  scores: jsonb('scores').notNull().$type<ReportScore[]>(),
  findings: jsonb('findings').notNull().$type<Finding[]>(),
  suggestedSyndromes: text('suggested_syndromes').array().notNull().$type<SyndromeCode[]>(),
  methods: text('methods').array().notNull().$type<Method[]>(),
  confidence: doublePrecision('confidence').notNull(),
  adviceSummary: text('advice_summary').notNull(),
  adviceSummaryEn: text('advice_summary_en').notNull(),
  createdAt: instant('created_at').notNull().defaultNow(),
  status: text('status').notNull().$type<ReportStatus>(),
  statusReason: text('status_reason'),
});

export type MediaStatus = 'AWAITING_UPLOAD' | 'ANALYSING' | 'ANALYSED' | 'FAILED' | 'EXPIRED';

/** Tongue photos and voice recordings (issue 21); the bytes are in the media store. */
export const media = diagnosisSchema.table('media', {
  id: uuid('id').primaryKey(),
  userId: uuid('user_id').notNull(),
  consultationId: uuid('consultation_id').notNull(),
  kind: text('kind').notNull().$type<MediaKind>(),
  declaredType: text('declared_type').notNull(),
  declaredBytes: integer('declared_bytes').notNull(),
  status: text('status').notNull().$type<MediaStatus>(),
  contentType: text('content_type'),
  byteSize: integer('byte_size'),
  width: integer('width'),
  height: integer('height'),
  durationSeconds: doublePrecision('duration_seconds'),
  sampleRate: integer('sample_rate'),
  originalKey: text('original_key'),
  submission: jsonb('submission').$type<MediaSubmission>(),
  analysis: jsonb('analysis').$type<TongueAnalysis | VoiceAnalysis>(),
  failureReason: text('failure_reason'),
  failureMessage: text('failure_message'),
  createdAt: instant('created_at').notNull().defaultNow(),
  uploadExpiresAt: instant('upload_expires_at').notNull(),
  submittedAt: instant('submitted_at'),
  analysedAt: instant('analysed_at'),
  originalDeletedAt: instant('original_deleted_at'),
});

/** What the person chose alongside the media, applied together with its analysis. */
export type MediaSubmission =
  | { method: 'INSPECTION'; tongue: Partial<InspectionInput['tongue']>; complexion: InspectionInput['complexion'] | null }
  | { method: 'LISTENING'; choices: Partial<Pick<ListeningInput, 'voiceVolume' | 'breathless'>>; rest: Omit<ListeningInput, 'voiceVolume' | 'breathless'> };

/** What a `Media` resolves from. */
export type MediaRow = typeof media.$inferSelect;

export type ReportStatus = 'PENDING' | 'PUBLISHED' | 'FAILED';
export type SagaState = 'RUNNING' | 'COMPENSATING' | 'PUBLISHED' | 'FAILED';
export type SagaStepName = 'EXPLAIN' | 'NOTIFY';
export type SagaStepStatus = 'STARTED' | 'DONE' | 'COMPENSATED';

export const reportSagas = diagnosisSchema.table('report_sagas', {
  reportId: uuid('report_id').primaryKey(),
  userId: uuid('user_id').notNull(),
  attempt: integer('attempt').notNull(),
  state: text('state').notNull().$type<SagaState>(),
  reason: text('reason'),
  leaseUntil: instant('lease_until'),
  leaseToken: uuid('lease_token'),
  createdAt: instant('created_at').notNull().defaultNow(),
  updatedAt: instant('updated_at').notNull().defaultNow(),
});

export const reportSagaSteps = diagnosisSchema.table(
  'report_saga_steps',
  {
    reportId: uuid('report_id').notNull(),
    attempt: integer('attempt').notNull(),
    step: text('step').notNull().$type<SagaStepName>(),
    status: text('status').notNull().$type<SagaStepStatus>(),
    result: jsonb('result').$type<unknown>(),
    error: text('error'),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.reportId, table.attempt, table.step] })],
);

export type SagaRow = typeof reportSagas.$inferSelect;
export type SagaStepRow = typeof reportSagaSteps.$inferSelect;

/** What a `Consultation` resolves from. */
export type ConsultationRow = typeof consultations.$inferSelect;

/** What a `Question` resolves from. */
export type QuestionRow = typeof questions.$inferSelect;

/** What a `DiagnosisReport` resolves from. */
export type ReportRow = typeof reports.$inferSelect;

/** The stored result of each method (`method_results.result`). */
export interface InquiryData {
  scores: ConstitutionScore[];
  primary: ConstitutionCode;
  secondary: ConstitutionCode[];
}
/** Where a field of a method's result came from (`FieldSource`). */
export interface FieldSourceData {
  field: string;
  source: 'MEASURED' | 'CHOSEN' | 'NOT_ASSESSED';
  confidence: number | null;
}
/** Results stored before issue 21 have no sources, measures or media: read them as all chosen. */
export type InspectionData = InspectionInput & {
  findings: Finding[];
  sources?: FieldSourceData[];
  measured?: TongueAnalysis | null;
  photoId?: string | null;
};
export type ListeningData = ListeningInput & {
  findings: Finding[];
  sources?: FieldSourceData[];
  measures?: VoiceAnalysis | null;
  recordingId?: string | null;
};
export type PalpationData = PalpationResult;
export type MethodResultData = InquiryData | InspectionData | ListeningData | PalpationData;

/** A method's result as the GraphQL result types resolve it: the stored data and when it was submitted. */
export type InquiryResultRow = InquiryData & { submittedAt: Date };
export type InspectionResultRow = InspectionData & { submittedAt: Date };
export type ListeningResultRow = ListeningData & { submittedAt: Date };
export type PalpationResultRow = PalpationData & { submittedAt: Date };

/** The results of one consultation, by method; absent methods were not performed. */
export interface MethodResults {
  INQUIRY?: InquiryResultRow;
  INSPECTION?: InspectionResultRow;
  LISTENING?: ListeningResultRow;
  PALPATION?: PalpationResultRow;
}

/** A `User` as this subgraph knows it: only the key, from the entity representation. */
export interface UserRef {
  id: string;
}

import { ANY_GRANT, auditEventsPage, DateTime, delegatedReads, forbidden, hasScope, isUuid, notFound, startingWith, unauthenticated, type DelegatedReads } from '@suoke/platform';
import type { Context } from '../context.js';
import type { ConsultationRow, ReportRow } from '../db/schema.js';
import { selectReport } from '../db/saga.js';
import { reportFromEvent, reportTopic } from '../service/report-events.js';
import { consultationNotFound } from '../db/consultations.js';
import type { Resolvers } from '../generated/resolvers.js';
import {
  cancelConsultation,
  completeConsultation,
  retryReport,
  startConsultation,
  submitInquiry,
  submitInspection,
  submitListening,
  submitPulseRecording,
} from '../service/consultations.js';
import type { ReportSaga } from '../service/saga.js';
import { consultationFromEvent, consultationTopic, type ConsultationEvent } from '../service/consultation-events.js';
import { createMediaUpload, mediaDownload, type MediaDeps } from '../service/media.js';
import {
  fieldSourceResolvers,
  inspectionResultResolvers,
  listeningResultResolvers,
  mediaResolvers,
  tongueMeasurementResolvers,
  voiceMeasuresResolvers,
} from './media.js';
import { consultationResolvers, reportResolvers } from './consultation.js';
import { READ_ANY, userResolvers } from './user.js';

const round2 = (value: number) => Math.round(value * 100) / 100;
const refs = (codes: readonly string[]) => codes.map((code) => ({ code }));

export interface ResolverDeps {
  /** The consultation follow-up saga that publishes reports. */
  saga: ReportSaga;
  /** How long a mutation that starts the saga waits for it before answering. */
  sagaWaitMs: number;
  /** Photos and recordings: the store, the analysis jobs and the consultation's subscribers. */
  media: MediaDeps;
}

/**
 * What an agent's delegated token (issue 20) may read here: with `REPORTS`, the user's latest report and what a
 * report holds (scores, findings, the constitutions and syndromes it names by code). Never consultations, never a
 * write or a subscription.
 */
export const DIAGNOSIS_DELEGATED_READS: DelegatedReads = {
  'User.id': ANY_GRANT,
  'User.latestReport': ['REPORTS'],
  DiagnosisReport: ['REPORTS'],
  ReportScore: ['REPORTS'],
  Finding: ['REPORTS'],
  Constitution: ['REPORTS'],
  Syndrome: ['REPORTS'],
};

/** Thin resolvers: rules live in service/, storage in db/, reads go through loaders. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  return delegatedReads(resolverMap(deps), DIAGNOSIS_DELEGATED_READS);
}

function resolverMap(deps: ResolverDeps): Resolvers {
  const changed = changedWith(deps.media);
  return {
    DateTime,
    Query: {
      constitutionQuestionnaire: (_parent, _args, ctx) => ctx.loaders.questionnaire(),
      // Owner only, and the same NOT_FOUND for a foreign consultation as for none.
      consultation: async (_parent, { id }, ctx) => {
        const row = await ctx.loaders.consultationById.load(id);
        // The client sees NOT_FOUND either way; the audit log keeps the attempt on someone else's record.
        if (row && row.userId !== ctx.user?.id) ctx.audit.deny({ resource: 'Consultation', ids: [row.id], reason: 'NOT_OWNER' });
        if (!row || row.userId !== ctx.user?.id) throw consultationNotFound(id);
        ctx.audit.record({ action: 'READ', resource: 'Consultation', ids: [row.id] });
        return row;
      },
      diagnosisAuditEvents: (_parent, args, ctx) => auditEventsPage(ctx, 'diagnosis', args),
      mediaDownload: (_parent, { id }, ctx) => {
        if (!ctx.user) throw unauthenticated();
        return mediaDownload(deps.media, { id: ctx.user.id, canReadAny: hasScope(ctx.user, READ_ANY) }, ctx.audit, id);
      },
    },
    Mutation: {
      // Always for the caller: there is no way to act on someone else's consultation.
      startConsultation: async (_parent, { input }, ctx) => written(ctx, await startConsultation(ctx.database, callerId(ctx), input)),
      createMediaUpload: async (_parent, { input }, ctx) => {
        const upload = await createMediaUpload(deps.media, callerId(ctx), input);
        ctx.audit.record({ action: 'WRITE', resource: 'Media', ids: [upload.uploadId] });
        return upload;
      },
      submitInquiry: async (_parent, { input }, ctx) => changed(ctx, await submitInquiry(ctx.database, callerId(ctx), input)),
      submitInspection: async (_parent, { input }, ctx) => changed(ctx, await submitInspection(deps.media, callerId(ctx), input)),
      submitListening: async (_parent, { input }, ctx) => changed(ctx, await submitListening(deps.media, callerId(ctx), input)),
      submitPulseRecording: async (_parent, { input }, ctx) => changed(ctx, await submitPulseRecording(ctx.database, callerId(ctx), input)),
      completeConsultation: async (_parent, { id }, ctx) =>
        changed(ctx, await completeConsultation(ctx.database, deps.saga, deps.sagaWaitMs, callerId(ctx), id)),
      retryReport: async (_parent, { id }, ctx) => {
        const report = await retryReport(ctx.database, deps.saga, deps.sagaWaitMs, callerId(ctx), id);
        ctx.audit.record({ action: 'WRITE', resource: 'DiagnosisReport', ids: [report.id] });
        return report;
      },
      cancelConsultation: async (_parent, { id }, ctx) => changed(ctx, await cancelConsultation(ctx.database, callerId(ctx), id)),
    },
    Subscription: {
      reportUpdated: {
        // Subscribed before the report is read, so a change committed in between is delivered, not lost.
        subscribe: async (_parent, { id }, ctx) => {
          const missing = () => notFound(`No report with id ${JSON.stringify(id)} was found`);
          if (!ctx.user || !isUuid(id)) throw missing();
          const events = await ctx.events.subscribe<ReportRow>(reportTopic(id));
          try {
            const report = await selectReport(ctx.database, id);
            if (report && report.userId !== ctx.user.id && !hasScope(ctx.user, READ_ANY)) {
              ctx.audit.deny({ resource: 'DiagnosisReport', ids: [report.id], reason: 'NOT_OWNER' });
            }
            if (!report || (report.userId !== ctx.user.id && !hasScope(ctx.user, READ_ANY))) throw missing();
            return startingWith(report, events);
          } catch (error) {
            await events.return?.();
            throw error;
          }
        },
        resolve: (event: ReportRow, _args: unknown, ctx: Context) => {
          const report = reportFromEvent(event);
          ctx.audit.record({ action: 'READ', resource: 'DiagnosisReport', ids: [report.id] });
          return report;
        },
      },
      consultationUpdated: {
        // As reportUpdated: subscribed first, then read, so no change between the two is lost. Owner only.
        subscribe: async (_parent, { id }, ctx) => {
          const missing = () => consultationNotFound(id);
          if (!ctx.user || !isUuid(id)) throw missing();
          const events = await ctx.events.subscribe<ConsultationRow>(consultationTopic(id));
          try {
            const row = await ctx.loaders.consultationById.load(id);
            if (row && row.userId !== ctx.user.id) ctx.audit.deny({ resource: 'Consultation', ids: [row.id], reason: 'NOT_OWNER' });
            if (!row || row.userId !== ctx.user.id) throw missing();
            return startingWith(row, events);
          } catch (error) {
            await events.return?.();
            throw error;
          }
        },
        resolve: (event: ConsultationEvent, _args: unknown, ctx: Context) => {
          const row = consultationFromEvent(event);
          ctx.audit.record({ action: 'READ', resource: 'Consultation', ids: [row.id] });
          return row;
        },
      },
    },
    User: userResolvers,
    Consultation: consultationResolvers,
    DiagnosisReport: reportResolvers,
    Media: mediaResolvers,
    InspectionResult: inspectionResultResolvers,
    ListeningResult: listeningResultResolvers,
    FieldSource: fieldSourceResolvers,
    TongueMeasurement: tongueMeasurementResolvers,
    VoiceMeasures: voiceMeasuresResolvers,
    Question: { constitution: (question) => ({ code: question.constitution }) },
    InquiryResult: {
      primary: (inquiry) => ({ code: inquiry.primary }),
      secondary: (inquiry) => refs(inquiry.secondary),
    },
    ConstitutionScore: {
      constitution: (score) => ({ code: score.constitution }),
      score: (score) => round2(score.score),
    },
    ReportScore: {
      constitution: (score) => ({ code: score.constitution }),
      inquiryScore: (score) => round2(score.inquiryScore),
      score: (score) => round2(score.score),
    },
    Finding: {
      constitutions: (finding) => refs(finding.constitutions),
      syndromes: (finding) => refs(finding.syndromes),
    },
  };
}

/** Audits a consultation a mutation changed (its report, when completing, is audited when read). */
function written(ctx: Context, row: ConsultationRow): ConsultationRow {
  ctx.audit.record({ action: 'WRITE', resource: 'Consultation', ids: [row.id] });
  return row;
}

/** As `written`, and tells the consultation's subscribers (`consultationUpdated`): the change has committed. */
function changedWith(media: MediaDeps) {
  return async (ctx: Context, row: ConsultationRow): Promise<ConsultationRow> => {
    await media.events.publish(row);
    return written(ctx, row);
  };
}

function callerId(ctx: Context): string {
  if (!ctx.user) throw unauthenticated();
  // Consultations are keyed by the user service's UUIDs; any other subject owns none.
  if (!isUuid(ctx.user.id)) throw forbidden('This account cannot hold consultations');
  return ctx.user.id;
}

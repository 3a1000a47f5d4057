import { assertOwnerOr, forbidden, unauthenticated } from '@suoke/platform';
import type { ConsultationResolvers, DiagnosisReportResolvers } from '../generated/resolvers.js';
import { committedReports } from '../service/consultations.js';
import { READ_ANY } from './user.js';

/**
 * `Consultation`, also resolvable by other subgraphs. Every other path to a
 * consultation is owner-checked already; here the check (which also refuses
 * anonymous callers) runs per representation and asynchronously, so a
 * refusal nulls that item only, never the whole `_entities` list.
 */
export const consultationResolvers: ConsultationResolvers = {
  __resolveReference: async (reference, ctx) => {
    if (!ctx.user) throw unauthenticated();
    const row = await ctx.loaders.consultationById.load(reference.id);
    if (!row) return null;
    assertOwnerOr(ctx, row.userId, READ_ANY);
    ctx.audit.record({ action: 'READ', resource: 'Consultation', ids: [row.id] });
    return row;
  },
  agent: (consultation) => ({ id: consultation.agentId }),
  inquiry: async (consultation, _args, ctx) => (await ctx.loaders.methodResults.load(consultation.id)).INQUIRY ?? null,
  inspection: async (consultation, _args, ctx) => (await ctx.loaders.methodResults.load(consultation.id)).INSPECTION ?? null,
  listening: async (consultation, _args, ctx) => (await ctx.loaders.methodResults.load(consultation.id)).LISTENING ?? null,
  palpation: async (consultation, _args, ctx) => (await ctx.loaders.methodResults.load(consultation.id)).PALPATION ?? null,
  media: async (consultation, _args, ctx) => {
    const rows = await ctx.loaders.mediaByConsultation.load(consultation.id);
    if (rows.length > 0) ctx.audit.record({ action: 'READ', resource: 'Media', ids: rows.map((row) => row.id) });
    return rows;
  },
  // Only a completed consultation has a report: the others need no lookup.
  report: async (consultation, _args, ctx) => {
    if (consultation.status !== 'COMPLETED') return null;
    const committed = committedReports.get(consultation);
    // Right after a committed completion the stored report answers rather than an error (its status as committed).
    const report = committed
      ? await ctx.loaders.reportByConsultation.load(consultation.id).catch(() => committed)
      : await ctx.loaders.reportByConsultation.load(consultation.id);
    if (report) ctx.audit.record({ action: 'READ', resource: 'DiagnosisReport', ids: [report.id] });
    return report;
  },
};

export const reportResolvers: DiagnosisReportResolvers = {
  /**
   * A cited report (issue 20): only its owner reads it, a delegated token of the owner included; anyone else's is
   * null with `FORBIDDEN` (the refusal audited), an unknown id null. Per representation, asynchronously, so a refusal
   * nulls that item only; the batch is one statement.
   */
  __resolveReference: async (reference, ctx) => {
    if (!ctx.user) throw unauthenticated();
    const report = await ctx.loaders.reportById.load(reference.id);
    if (!report) return null;
    if (report.userId !== ctx.user.id.toLowerCase()) throw forbidden();
    ctx.audit.record({ action: 'READ', resource: 'DiagnosisReport', ids: [report.id] });
    return report;
  },
  primaryConstitution: (report) => ({ code: report.primaryConstitution }),
  secondaryConstitutions: (report) => report.secondaryConstitutions.map((code) => ({ code })),
  suggestedSyndromes: (report) => report.suggestedSyndromes.map((code) => ({ code })),
};

import { assertOwnerOr, decodeTimeIdCursor, pageSize, toConnection } from '@suoke/platform';
import type { ConsultationRow } from '../db/schema.js';
import type { UserResolvers } from '../generated/resolvers.js';

/** Who may read a user's consultations besides the user: clinicians and admins. */
export const READ_ANY = 'health:read:any';

/**
 * The fields this subgraph adds to `User`. `@authenticated` (enforced by the
 * platform) rejects anonymous callers; each field then checks the caller owns
 * the data or holds `health:read:any`, and loads through a batching loader.
 */
export const userResolvers: UserResolvers = {
  // The user subgraph owns users: nothing to look up, the key is all we need.
  __resolveReference: (reference) => ({ id: reference.id }),

  consultations: async (user, args, ctx) => {
    assertOwnerOr(ctx, user.id, READ_ANY);
    const first = pageSize(args.first);
    const after = decodeTimeIdCursor(args.after) ?? null;
    const rows = await ctx.loaders.consultationPage.load({ userId: user.id.toLowerCase(), limit: first + 1, after });
    const page = toConnection(rows, first, (row: ConsultationRow) => [row.startedAt.toISOString(), row.id]);
    ctx.audit.record({ action: 'READ', resource: 'Consultation', ids: page.edges.map((edge) => edge.node.id) });
    return page;
  },

  latestReport: async (user, _args, ctx) => {
    assertOwnerOr(ctx, user.id, READ_ANY);
    const report = await ctx.loaders.latestReportByUser.load(user.id);
    if (report) ctx.audit.record({ action: 'READ', resource: 'DiagnosisReport', ids: [report.id] });
    return report;
  },
};

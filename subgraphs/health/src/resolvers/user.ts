import { assertOwnerOr, badInput, decodeCursor, pageSize, toConnection, isUuid } from '@suoke/platform';
import type { PageQuery, PageRow } from '../db/queries.js';
import type { UserObservationsArgs, UserResolvers } from '../generated/resolvers.js';

/** Who may read a user's health data besides the user: clinicians and admins. */
export const READ_ANY = 'health:read:any';

export const SUMMARY_DAYS = { min: 1, max: 366 } as const;

/**
 * The fields this subgraph adds to `User`. `@authenticated` (enforced by the
 * platform) rejects anonymous callers; each field then checks the caller owns
 * the data or holds `health:read:any`, and loads through a batching loader.
 */
export const userResolvers: UserResolvers = {
  // The user subgraph owns users: nothing to look up, the key is all we need.
  __resolveReference: (reference) => ({ id: reference.id }),

  healthProfile: async (user, _args, ctx) => {
    assertOwnerOr(ctx, user.id, READ_ANY);
    const profile = await ctx.loaders.profileByUserId.load(user.id);
    if (profile || ctx.user?.actor) ctx.audit.record({ action: 'READ', resource: 'HealthProfile', ids: [user.id.toLowerCase()] });
    return profile;
  },

  observations: async (user, args, ctx) => {
    assertOwnerOr(ctx, user.id, READ_ANY);
    const query = pageQuery(user.id, args);
    const rows = await ctx.loaders.observationPage.load(query);
    const page = toConnection(rows, query.limit - 1, (row: PageRow) => [row.recordedAtKey, row.id]);
    ctx.audit.record({ action: 'READ', resource: 'Observation', ids: page.edges.map((edge) => edge.node.id) });
    return page;
  },

  healthSummary: async (user, { days }, ctx) => {
    assertOwnerOr(ctx, user.id, READ_ANY);
    if (!Number.isInteger(days) || days < SUMMARY_DAYS.min || days > SUMMARY_DAYS.max) {
      throw badInput(`days must be an integer from ${SUMMARY_DAYS.min} to ${SUMMARY_DAYS.max}; received ${days}`, 'days');
    }
    const stats = await ctx.loaders.summary.load({ userId: user.id.toLowerCase(), days });
    // Statistics have no ids of their own: the record is the user's series (none disclosed when empty). A delegated
    // read is audited even when empty: the agent looked.
    if (stats.length > 0 || ctx.user?.actor) ctx.audit.record({ action: 'READ', resource: 'ObservationStat', ids: [user.id.toLowerCase()] });
    return stats;
  },
};

/** Turns the field arguments into a loader key; bad arguments are BAD_USER_INPUT naming the argument. */
function pageQuery(userId: string, args: Partial<UserObservationsArgs>): PageQuery {
  const first = pageSize(args.first);
  const from = optionalDate(args.from);
  const to = optionalDate(args.to);
  if (from && to && from >= to) {
    throw badInput(`from must be before to; received from ${from.toISOString()} and to ${to.toISOString()}`, 'from');
  }
  const cursor = decodeCursor(args.after, 2);
  let after: PageQuery['after'] = null;
  if (cursor) {
    const [recordedAt, id] = cursor;
    if (typeof recordedAt !== 'string' || Number.isNaN(Date.parse(recordedAt)) || typeof id !== 'string' || !isUuid(id)) {
      throw badInput('after is not a cursor returned by this connection', 'after');
    }
    after = { recordedAt, id };
  }
  return { userId: userId.toLowerCase(), type: args.type ?? null, from, to, limit: first + 1, after };
}

function optionalDate(value: Date | string | null | undefined): Date | null {
  return value === null || value === undefined ? null : new Date(value);
}

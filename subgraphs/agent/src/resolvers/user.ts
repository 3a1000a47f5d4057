import { assertOwnerOr, decodeTimeIdCursor, pageSize, toConnection } from '@suoke/platform';
import type { ConversationRow } from '../db/schema.js';
import type { UserResolvers } from '../generated/resolvers.js';

/** Who may read a user's conversations besides the user: clinicians and admins. */
export const READ_ANY = 'health:read:any';

/**
 * The field this subgraph adds to `User`. `@authenticated` (enforced by the
 * platform) rejects anonymous callers; the resolver then checks the caller owns
 * the data or holds `health:read:any`, and loads through a batching loader.
 */
export const userResolvers: UserResolvers = {
  // The user subgraph owns users: nothing to look up, the key is all we need.
  __resolveReference: (reference) => ({ id: reference.id }),

  conversations: async (user, args, ctx) => {
    assertOwnerOr(ctx, user.id, READ_ANY);
    const first = pageSize(args.first);
    const after = decodeTimeIdCursor(args.after) ?? null;
    const rows = await ctx.loaders.conversationPage.load({ userId: user.id.toLowerCase(), limit: first + 1, after });
    const page = toConnection(rows, first, (row: ConversationRow) => [row.updatedAt.toISOString(), row.id]);
    ctx.audit.record({ action: 'READ', resource: 'Conversation', ids: page.edges.map((edge) => edge.node.id) });
    return page;
  },
};

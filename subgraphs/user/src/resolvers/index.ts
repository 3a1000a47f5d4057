import { and, asc, count, gt, eq, or } from 'drizzle-orm';
import { DateTime, decodeTimeIdCursor, hasScope, pageSize, toConnection, unauthenticated } from '@suoke/platform';
import type { Context } from '../context.js';
import { users, type UserRow } from '../db/schema.js';
import type { Resolvers } from '../generated/resolvers.js';
import { Accounts } from '../service/accounts.js';
import type { UserConfig } from '../config.js';

/** Marks the user row of a sign-in payload as the caller's own account. */
const VIEWER = Symbol('viewer');

function asViewer<T extends { user: UserRow }>(result: T): T {
  return { ...result, user: Object.assign(Object.create(null) as object, result.user, { [VIEWER]: true }) as UserRow };
}

/** Thin resolvers: validation and storage live in service/, lookups go through loaders. */
export function createResolvers(config: UserConfig): Resolvers {
  const accounts = (ctx: Context) => new Accounts(ctx.database, config);
  return {
    DateTime,
    Query: {
      me: (_parent, _args, ctx) => (ctx.user ? ctx.loaders.userById.load(ctx.user.id) : null),
      users: async (_parent, args, ctx) => {
        const first = pageSize(args.first);
        const after = decodeTimeIdCursor(args.after);
        const where = after ? or(gt(users.createdAt, after.at), and(eq(users.createdAt, after.at), gt(users.id, after.id))) : undefined;
        const rows = await ctx.database.db.select().from(users).where(where).orderBy(asc(users.createdAt), asc(users.id)).limit(first + 1);
        for (const row of rows) ctx.loaders.userById.prime(row.id, row);
        return {
          ...toConnection(rows, first, (row: UserRow) => [row.createdAt.toISOString(), row.id]),
          // Counted only when the client selects totalCount (the default resolver calls functions).
          totalCount: (async () => (await ctx.database.db.select({ n: count() }).from(users))[0]?.n ?? 0) as unknown as number,
        };
      },
    },
    Mutation: {
      register: async (_parent, { input }, ctx) => asViewer(await accounts(ctx).register(input)),
      login: async (_parent, { input }, ctx) => asViewer(await accounts(ctx).login(input)),
      refreshToken: async (_parent, { token }, ctx) => asViewer(await accounts(ctx).refresh(token)),
      logout: (_parent, { refreshToken }, ctx) => accounts(ctx).logout(refreshToken),
      updateProfile: (_parent, { input }, ctx) => {
        if (!ctx.user) throw unauthenticated();
        return accounts(ctx).updateProfile(ctx.user.id, input);
      },
    },
    User: {
      __resolveReference: (reference, ctx) => ctx.loaders.userById.load(reference.id),
      // Email is personal: only the account holder (including in the payload of
      // their own sign-in, which carries no token yet) and admins see it.
      email: (user, _args, ctx) =>
        VIEWER in user || ctx.user?.id === user.id || hasScope(ctx.user, 'users:read') ? user.email : null,
    },
  };
}

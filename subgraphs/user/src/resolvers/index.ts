import { and, asc, count, gt, eq, or } from 'drizzle-orm';
import { DateTime, decodeCursor, pageSize, toConnection, unauthenticated } from '@suoke/platform';
import type { Context } from '../context.js';
import { users, type UserRow } from '../db/schema.js';
import type { Resolvers } from '../generated/resolvers.js';
import { Accounts } from '../service/accounts.js';
import type { UserConfig } from '../config.js';

/** Thin resolvers: validation and storage live in service/, lookups go through loaders. */
export function createResolvers(config: UserConfig): Resolvers {
  const accounts = (ctx: Context) => new Accounts(ctx.database, config);
  return {
    DateTime,
    Query: {
      me: (_parent, _args, ctx) => (ctx.user ? ctx.loaders.userById.load(ctx.user.id) : null),
      users: async (_parent, args, ctx) => {
        const first = pageSize(args.first);
        const after = decodeCursor(args.after, 2);
        const where = after
          ? or(gt(users.createdAt, new Date(String(after[0]))), and(eq(users.createdAt, new Date(String(after[0]))), gt(users.id, String(after[1]))))
          : undefined;
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
      register: (_parent, { input }, ctx) => accounts(ctx).register(input),
      login: (_parent, { input }, ctx) => accounts(ctx).login(input),
      refreshToken: (_parent, { token }, ctx) => accounts(ctx).refresh(token),
      logout: (_parent, { refreshToken }, ctx) => accounts(ctx).logout(refreshToken),
      updateProfile: (_parent, { input }, ctx) => {
        if (!ctx.user) throw unauthenticated();
        return accounts(ctx).updateProfile(ctx.user.id, input);
      },
    },
    User: {
      __resolveReference: (reference, ctx) => ctx.loaders.userById.load(reference.id),
      // Email is personal: only the account holder and admins see it.
      email: (user, _args, ctx) => (ctx.user && (ctx.user.id === user.id || ctx.user.scopes.includes('users:read')) ? user.email : null),
    },
  };
}

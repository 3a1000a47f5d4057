import { ANY_GRANT, DateTime, decodeTimeIdCursor, delegatedReads, forbidden, hasScope, pageSize, signingKeyRing, toConnection, unauthenticated } from '@suoke/platform';
import type { Context } from '../context.js';
import type { NotificationRow, UserRow } from '../db/schema.js';
import type { Resolvers } from '../generated/resolvers.js';
import { userCache } from '../loaders.js';
import { Accounts } from '../service/accounts.js';
import { SignInThrottle } from '../service/sign-in-throttle.js';
import { countUsers, selectUserPage } from '../service/directory.js';
import { grantAgentAccess, mintDelegatedToken, noAccess, revokeAgentAccess } from '../service/agent-access.js';
import { markNotificationRead, notificationFromEvent, notificationTopic, postNotification, retractNotification, type NotificationEvent } from '../service/notifications.js';
import type { UserConfig } from '../config.js';

/** Marks the user row of a sign-in payload as the caller's own account. */
const VIEWER = Symbol('viewer');

function asViewer<T extends { user: UserRow }>(result: T): T {
  return { ...result, user: Object.assign(Object.create(null) as object, result.user, { [VIEWER]: true }) as UserRow };
}

/** A delegated token (issue 20) reads here only who it acts for: `me { id }`; never email, name or anything else. */
const USER_DELEGATED_READS = { 'Query.me': ANY_GRANT, 'User.id': ANY_GRANT };

/** Thin resolvers: validation and storage live in service/, lookups go through loaders. */
export function createResolvers(config: UserConfig): Resolvers {
  return delegatedReads(resolverMap(config), USER_DELEGATED_READS);
}

function resolverMap(config: UserConfig): Resolvers {
  const accounts = (ctx: Context) => new Accounts(ctx.database, config, ctx.sessions);
  return {
    DateTime,
    Query: {
      me: (_parent, _args, ctx) => (ctx.user ? ctx.loaders.userById.load(ctx.user.id) : null),
      users: async (_parent, args, ctx) => {
        const first = pageSize(args.first);
        const rows = await selectUserPage(ctx.database, first + 1, decodeTimeIdCursor(args.after));
        for (const row of rows) ctx.loaders.userById.prime(row.id, row);
        // Counted only when the client selects totalCount (UserConnection.totalCount below).
        return { ...toConnection(rows, first, (row: UserRow) => [row.createdAt.toISOString(), row.id]), countAll: () => countUsers(ctx.database) };
      },
    },
    UserConnection: {
      totalCount: (page) => page.countAll(),
    },
    Mutation: {
      register: async (_parent, { input }, ctx) => asViewer(await accounts(ctx).register(input)),
      login: async (_parent, { input }, ctx) => {
        const store = ctx.rateLimit.store;
        const throttle = store ? { limiter: new SignInThrottle(store, config), address: ctx.rateLimit.identity.ip } : undefined;
        return asViewer(await accounts(ctx).login(input, throttle));
      },
      refreshToken: async (_parent, { token }, ctx) => asViewer(await accounts(ctx).refresh(token)),
      logout: (_parent, { refreshToken }, ctx) => accounts(ctx).logout(refreshToken),
      updateProfile: async (_parent, { input }, ctx) => {
        if (!ctx.user) throw unauthenticated();
        const user = await accounts(ctx).updateProfile(ctx.user.id, input);
        // Committed: every replica's cached copy goes before the answer does.
        await userCache(ctx.entities).invalidate([user.id]);
        return user;
      },
      markNotificationRead: (_parent, { id }, ctx) => {
        if (!ctx.user) throw unauthenticated();
        return markNotificationRead(ctx.database, ctx.user.id, id);
      },
      // Scope `notifications:write` (checked by the platform from the SDL): service credentials only.
      postNotification: (_parent, { input }, ctx) =>
        postNotification(ctx.database, input, (row) => ctx.events.publish(notificationTopic(row.userId), row)),
      retractNotification: (_parent, { key }, ctx) => retractNotification(ctx.database, key),
      grantAgentAccess: (_parent, { input }, ctx) => grantAgentAccess(ctx.database, callerId(ctx), input.scopes),
      revokeAgentAccess: (_parent, { input }, ctx) => revokeAgentAccess(ctx.database, callerId(ctx), input.scopes),
      // Scope `agent-access:delegate` (checked by the platform from the SDL): the agent's service credential only.
      delegateAgentAccess: (_parent, { userId }, ctx) =>
        mintDelegatedToken(ctx.database, userId, {
          key: signingKeyRing('user', config),
          issuer: config.JWT_ISSUER,
          ttlSeconds: config.DELEGATED_TOKEN_TTL_SECONDS,
        }),
    },
    Subscription: {
      // The topic is the caller's own: there is no way to name anyone else's inbox.
      notificationAdded: {
        subscribe: (_parent, _args, ctx) => {
          if (!ctx.user) throw unauthenticated();
          return ctx.events.subscribe<NotificationEvent>(notificationTopic(ctx.user.id));
        },
        resolve: (event: NotificationEvent) => notificationFromEvent(event),
      },
    },
    User: {
      __resolveReference: (reference, ctx) => ctx.loaders.userById.load(reference.id),
      // Email is personal: only the account holder (including in the payload of
      // their own sign-in, which carries no token yet) and admins see it.
      email: (user, _args, ctx) =>
        VIEWER in user || ctx.user?.id === user.id || hasScope(ctx.user, 'users:read') ? user.email : null,
      // The account holder's inbox: not even admins read it.
      notifications: async (user, args, ctx) => {
        if (ctx.user?.id !== user.id) throw forbidden();
        const first = pageSize(args.first);
        const rows = await ctx.loaders.notificationPage.load({ userId: user.id, limit: first + 1, after: decodeTimeIdCursor(args.after) ?? null });
        return toConnection(rows, first, (row: NotificationRow) => [row.createdAt.toISOString(), row.id]);
      },
      // Consent is the account holder's own: not even admins read it.
      agentAccess: async (user, _args, ctx) => {
        if (ctx.user?.id !== user.id) throw forbidden();
        return (await ctx.loaders.agentAccess.load(user.id)) ?? noAccess(user.id);
      },
    },
    AgentAccess: {
      version: (access) => String(access.version),
    },
  };
}

function callerId(ctx: Context): string {
  if (!ctx.user) throw unauthenticated();
  return ctx.user.id;
}

import { DateTime, forbidden, isUuid, unauthenticated } from '@suoke/platform';
import type { Context } from '../context.js';
import { conversationNotFound } from '../db/conversations.js';
import type { Resolvers } from '../generated/resolvers.js';
import { sendMessage } from '../service/chat.js';
import type { ExplanationService } from '../service/explanations.js';
import type { ReplyService } from '../service/replies.js';
import { conversationResolvers, messageResolvers } from './conversation.js';
import { userResolvers } from './user.js';

export interface ResolverDeps {
  replies: ReplyService;
  /** The consultation follow-up saga's step: explanations of diagnosis reports. */
  explanations: ExplanationService;
  /** Earlier messages given to the provider as context. */
  historyTurns: number;
}

/** Thin resolvers: rules live in service/, storage in db/, reads go through loaders. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  return {
    DateTime,
    Query: {
      agents: (_parent, _args, ctx) => ctx.loaders.agents(),
      agent: (_parent, { id }, ctx) => ctx.loaders.agentById.load(id),
      // Owner only, and the same NOT_FOUND for a foreign conversation as for none.
      conversation: async (_parent, { id }, ctx) => {
        const row = await ctx.loaders.conversationById.load(id);
        if (!row || row.userId !== ctx.user?.id) throw conversationNotFound(id);
        return row;
      },
    },
    Mutation: {
      // Always for the caller: there is no way to write into someone else's conversation.
      sendMessage: (_parent, { input }, ctx) =>
        sendMessage({ database: ctx.database, replies: deps.replies, agents: ctx.loaders.agents, historyTurns: deps.historyTurns }, callerId(ctx), input),
      // Scope `reports:explain` (checked by the platform from the SDL): the saga's service credential only.
      explainReport: (_parent, { input }, _ctx) => deps.explanations.explain(input),
      retractReportExplanation: (_parent, { key }) => deps.explanations.retract(key),
    },
    User: userResolvers,
    Agent: {
      __resolveReference: (reference, ctx) => ctx.loaders.agentById.load(reference.id),
    },
    Conversation: conversationResolvers,
    Message: messageResolvers,
    KnowledgeItem: {
      __resolveType: (item) => item.__typename,
    },
  };
}

function callerId(ctx: Context): string {
  if (!ctx.user) throw unauthenticated();
  // Conversations are keyed by the user service's UUIDs; any other subject owns none.
  if (!isUuid(ctx.user.id)) throw forbidden('This account cannot hold conversations');
  return ctx.user.id;
}

import { auditEventsPage, DateTime, forbidden, isUuid, notFound, unauthenticated } from '@suoke/platform';
import type { Context } from '../context.js';
import { conversationNotFound, selectMessage, selectMessageWithOwner } from '../db/conversations.js';
import type { Resolvers } from '../generated/resolvers.js';
import { sendMessage } from '../service/chat.js';
import type { ExplanationService } from '../service/explanations.js';
import type { ReplyService } from '../service/replies.js';
import { messageEvents, messageTopic, type MessageStreamEventValue, type ReplyBusEvent, type StreamingReplies } from '../service/streams.js';
import { createCareResolvers, type CareResolverDeps } from './care.js';
import { conversationResolvers, messageResolvers } from './conversation.js';
import { reminderResolvers, type ReminderResolverDeps } from './reminders.js';
import { userResolvers } from './user.js';

export interface ResolverDeps extends ReminderResolverDeps {
  replies: ReplyService;
  /** Streamed replies written in the background. */
  streams: StreamingReplies;
  /** The consultation follow-up saga's step: explanations of diagnosis reports. */
  explanations: ExplanationService;
  /** Earlier messages given to the provider as context. */
  historyTurns: number;
  /** XiaoKe's care plans and appointments. */
  care: CareResolverDeps;
}

/** Thin resolvers: rules live in service/, storage in db/, reads go through loaders. */
export function createResolvers(deps: ResolverDeps): Resolvers {
  const care = createCareResolvers(deps.care);
  const soer = reminderResolvers(deps);
  return {
    ...care,
    ...soer,
    DateTime,
    Query: {
      agents: (_parent, _args, ctx) => ctx.loaders.agents(),
      agent: (_parent, { id }, ctx) => ctx.loaders.agentById.load(id),
      // Owner only, and the same NOT_FOUND for a foreign conversation as for none.
      conversation: async (_parent, { id }, ctx) => {
        const row = await ctx.loaders.conversationById.load(id);
        // The client sees NOT_FOUND either way; the audit log keeps the attempt on someone else's record.
        if (row && row.userId !== ctx.user?.id) ctx.audit.deny({ resource: 'Conversation', ids: [row.id], reason: 'NOT_OWNER' });
        if (!row || row.userId !== ctx.user?.id) throw conversationNotFound(id);
        ctx.audit.record({ action: 'READ', resource: 'Conversation', ids: [row.id] });
        return row;
      },
      agentAuditEvents: (_parent, args, ctx) => auditEventsPage(ctx, 'agent', args),
      ...care.Query,
      ...soer.Query,
    },
    Mutation: {
      // Always for the caller: there is no way to write into someone else's conversation.
      sendMessage: async (_parent, { input }, ctx) => {
        const sent = await sendMessage(
          { database: ctx.database, replies: deps.replies, streams: deps.streams, agents: ctx.loaders.agents, historyTurns: deps.historyTurns, log: ctx.log },
          callerId(ctx),
          input,
        );
        // A hand-off opened a second conversation of the caller's (blocking replies; a streamed one hands off later).
        ctx.audit.record({ action: 'WRITE', resource: 'Conversation', ids: [sent.conversation.id, ...(sent.reply.handedOffTo ? [sent.reply.handedOffTo] : [])] });
        ctx.audit.record({ action: 'WRITE', resource: 'Message', ids: [sent.message.id, sent.reply.id] });
        return sent;
      },
      // Scope `reports:explain` (checked by the platform from the SDL): the saga's service credential only.
      explainReport: async (_parent, { input }, ctx) => {
        const explanation = await deps.explanations.explain(input);
        ctx.audit.record({ action: 'WRITE', resource: 'Conversation', ids: [explanation.conversationId] });
        ctx.audit.record({ action: 'WRITE', resource: 'Message', ids: [explanation.messageId] });
        return explanation;
      },
      retractReportExplanation: async (_parent, { key }, ctx) => {
        const retracted = await deps.explanations.retract(key);
        // What was removed is known by its key only: the saga's idempotency key, which holds no health data.
        ctx.audit.record({ action: 'WRITE', resource: 'ReportExplanation', ids: [key] });
        return retracted;
      },
      ...care.Mutation,
      ...soer.Mutation,
    },
    Subscription: {
      messageStream: {
        // Subscribed before the row is read: text written in between is either in the row or in an event after it.
        subscribe: async (_parent, { messageId }, ctx) => {
          const missing = () => notFound(`No message with id ${JSON.stringify(messageId)} was found`);
          if (!ctx.user) throw unauthenticated();
          if (!isUuid(messageId)) throw missing();
          const events = await ctx.events.subscribe<ReplyBusEvent>(messageTopic(messageId));
          try {
            const found = await selectMessageWithOwner(ctx.database, messageId);
            const owner = found?.userId.toLowerCase() === ctx.user.id.toLowerCase();
            // The client sees NOT_FOUND either way; the audit log keeps the attempt on someone else's message.
            if (found && !owner) ctx.audit.deny({ resource: 'Message', ids: [found.message.id], reason: 'NOT_OWNER' });
            if (!found || !owner) throw missing();
            ctx.audit.record({ action: 'READ', resource: 'Message', ids: [found.message.id] });
            return messageEvents(found.message, events, () => selectMessage(ctx.database, found.message.id));
          } catch (error) {
            await events.return?.();
            throw error;
          }
        },
        resolve: (event: MessageStreamEventValue) => event,
      },
    },
    User: { ...userResolvers, ...care.User },
    Agent: {
      __resolveReference: (reference, ctx) => ctx.loaders.agentById.load(reference.id),
    },
    Conversation: conversationResolvers,
    Message: messageResolvers,
    KnowledgeItem: {
      __resolveType: (item) => item.__typename,
    },
    Citation: {
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

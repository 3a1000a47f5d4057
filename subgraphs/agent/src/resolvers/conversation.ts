import { assertOwnerOr, badInput, decodeCursor, pageSize, toConnection, unauthenticated } from '@suoke/platform';
import { knowledgeRef, type MessageRow } from '../db/schema.js';
import type { ConversationResolvers, MessageResolvers } from '../generated/resolvers.js';
import { READ_ANY } from './user.js';

/** `after` of `Conversation.messages`: a cursor holding a message's position. */
function afterSeq(after: string | null | undefined): number | null {
  const parts = decodeCursor(after, 1);
  if (!parts) return null;
  const [seq] = parts;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) throw badInput('after is not a cursor returned by this connection', 'after');
  return seq;
}

/**
 * `Conversation`, also resolvable by other subgraphs. Every other path to a
 * conversation is owner-checked already; here the check (which also refuses
 * anonymous callers) runs per representation and asynchronously, so a refusal
 * nulls that item only, never the whole `_entities` list.
 */
export const conversationResolvers: ConversationResolvers = {
  __resolveReference: async (reference, ctx) => {
    if (!ctx.user) throw unauthenticated();
    const row = await ctx.loaders.conversationById.load(reference.id);
    if (!row) return null;
    assertOwnerOr(ctx, row.userId, READ_ANY);
    ctx.audit.record({ action: 'READ', resource: 'Conversation', ids: [row.id] });
    return row;
  },
  agent: async (conversation, _args, ctx) => {
    const agent = await ctx.loaders.agentById.load(conversation.agentId);
    // The foreign key guarantees it; a miss means the reference data was tampered with.
    if (!agent) throw new Error(`conversation ${conversation.id} names unknown agent ${conversation.agentId}`);
    return agent;
  },
  messages: async (conversation, args, ctx) => {
    const first = pageSize(args.first);
    const rows = await ctx.loaders.messagePage.load({ conversationId: conversation.id, limit: first + 1, afterSeq: afterSeq(args.after) });
    const page = toConnection(rows, first, (row: MessageRow) => [row.seq]);
    ctx.audit.record({ action: 'READ', resource: 'Message', ids: page.edges.map((edge) => edge.node.id) });
    return page;
  },
};

export const messageResolvers: MessageResolvers = {
  citations: (message) => message.citations.map(knowledgeRef),
  // The hand-off's conversation is the same user's, as the message is: reading the message is reading it. Batched.
  handedOffTo: async (message, _args, ctx) => (message.handedOffTo ? ctx.loaders.conversationById.load(message.handedOffTo) : null),
  // Stored with the row (migration 0010): no statement of its own. A reply still streaming has none yet.
  toolCalls: (message) => (message.status === 'STREAMING' ? [] : (message.toolCalls ?? [])),
};

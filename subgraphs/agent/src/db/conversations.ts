import { desc, eq, sql } from 'drizzle-orm';
import { badInput, isUuid, notFound, type Database } from '@suoke/platform';
import { conversations, messages, type CitationRef, type ConversationRow, type MessageRow, type ReplyProvider } from './schema.js';

/** A drizzle transaction, as `database.db.transaction` passes it. */
type Tx = Parameters<Parameters<Database['db']['transaction']>[0]>[0];

/** The same answer for an unknown id and another user's conversation: existence is not revealed. */
export const conversationNotFound = (id: string) => notFound(`No conversation with id ${JSON.stringify(id)} was found`);

/** One earlier message, as the model sees it. */
export interface Turn {
  role: 'USER' | 'AGENT';
  text: string;
}

export interface StoredUserMessage {
  conversation: ConversationRow;
  message: MessageRow;
  /** Up to `historyTurns` messages before this one, oldest first. */
  history: Turn[];
}

/**
 * Stores the user's message, committed before any provider is asked, so that a
 * failed reply never loses it. Without `conversationId` a conversation is
 * started in the same transaction (never left empty). A continued conversation
 * is locked while the message is appended: NOT_FOUND when it is unknown or
 * someone else's, BAD_USER_INPUT when it is held with another agent.
 */
export async function storeUserMessage(
  database: Database,
  input: { userId: string; agentId: string; text: string; conversationId?: string | null | undefined; historyTurns: number },
): Promise<StoredUserMessage> {
  const { conversationId } = input;
  if (conversationId !== null && conversationId !== undefined && !isUuid(conversationId)) throw conversationNotFound(conversationId);
  return database.db.transaction(async (tx) => {
    let conversation: ConversationRow;
    let history: Turn[] = [];
    if (conversationId === null || conversationId === undefined) {
      const [row] = await tx.insert(conversations).values({ userId: input.userId, agentId: input.agentId }).returning();
      if (!row) throw new Error('conversation insert returned no row');
      conversation = row;
    } else {
      const [row] = await tx.select().from(conversations).where(eq(conversations.id, conversationId)).for('update');
      if (!row || row.userId !== input.userId) throw conversationNotFound(conversationId);
      if (row.agentId !== input.agentId) {
        throw badInput(`agentId must be the conversation's agent ${JSON.stringify(row.agentId)}; received ${JSON.stringify(input.agentId)}`, 'input.agentId');
      }
      history = input.historyTurns > 0 ? await recentTurns(tx, row.id, input.historyTurns) : [];
      const [touched] = await tx.update(conversations).set({ updatedAt: sql`now()` }).where(eq(conversations.id, row.id)).returning();
      conversation = touched ?? row;
    }
    const message = await insertMessage(tx, { conversationId: conversation.id, role: 'USER', text: input.text, degraded: false, provider: null, citations: [] });
    return { conversation, message, history };
  });
}

export interface ReplyToStore {
  text: string;
  degraded: boolean;
  provider: ReplyProvider;
  citations: CitationRef[];
}

/** Stores the agent's reply and marks the conversation as active now. */
export async function storeReply(database: Database, conversationId: string, reply: ReplyToStore): Promise<{ conversation: ConversationRow; message: MessageRow }> {
  return database.db.transaction(async (tx) => {
    const message = await insertMessage(tx, { conversationId, role: 'AGENT', ...reply });
    const [conversation] = await tx.update(conversations).set({ updatedAt: sql`now()` }).where(eq(conversations.id, conversationId)).returning();
    if (!conversation) throw new Error(`conversation ${conversationId} vanished while replying`);
    return { conversation, message };
  });
}

async function insertMessage(tx: Tx, values: Omit<MessageRow, 'id' | 'seq' | 'createdAt'>): Promise<MessageRow> {
  const [row] = await tx.insert(messages).values(values).returning();
  if (!row) throw new Error('message insert returned no row');
  return row;
}

async function recentTurns(tx: Tx, conversationId: string, limit: number): Promise<Turn[]> {
  const rows = await tx
    .select({ role: messages.role, text: messages.text })
    .from(messages)
    .where(eq(messages.conversationId, conversationId))
    .orderBy(desc(messages.seq))
    .limit(limit);
  return rows.reverse();
}

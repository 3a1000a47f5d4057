import { eq } from 'drizzle-orm';
import type { Database } from '@suoke/platform';
import { agents, conversations, messages, type AgentRow, type ConversationRow, type MessageRow } from './schema.js';

/**
 * Opens the conversation of a hand-off: the receiving agent's, for the same user, recording the reply that opened it,
 * with the question as its first (user) message — one transaction, so a hand-off is never left half-written.
 */
export async function openHandOff(
  database: Database,
  input: { userId: string; agentId: string; fromMessageId: string | null; question: string },
): Promise<{ conversation: ConversationRow; message: MessageRow }> {
  return database.db.transaction(async (tx) => {
    const [conversation] = await tx
      .insert(conversations)
      .values({ userId: input.userId, agentId: input.agentId, handedOffFrom: input.fromMessageId })
      .returning();
    if (!conversation) throw new Error('hand-off conversation insert returned no row');
    const [message] = await tx
      .insert(messages)
      .values({ conversationId: conversation.id, role: 'USER', text: input.question, degraded: false, provider: null, citations: [] })
      .returning();
    if (!message) throw new Error('hand-off message insert returned no row');
    return { conversation, message };
  });
}

/** Links a reply to the conversation it handed the question to (a streamed reply while STREAMING: before its final event). */
export async function linkHandOff(database: Database, messageId: string, conversationId: string): Promise<MessageRow | undefined> {
  const [row] = await database.db.update(messages).set({ handedOffTo: conversationId }).where(eq(messages.id, messageId)).returning();
  return row;
}

/** One agent by id (the receiving agent of a hand-off). */
export async function selectAgent(database: Database, id: string): Promise<AgentRow | undefined> {
  const [row] = await database.db.select().from(agents).where(eq(agents.id, id));
  return row;
}

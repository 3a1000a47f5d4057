import { and, eq, notExists, sql } from 'drizzle-orm';
import { conflict, type Database } from '@suoke/platform';
import { conversations, messages, reportExplanations, type CitationRef } from './schema.js';

/**
 * Storage of report explanations, idempotent by the saga step's key. A key row
 * is written in the same transaction as the conversation and message it
 * points to; retracting leaves the key as a tombstone.
 */

export interface ExplanationRef {
  key: string;
  conversationId: string;
  messageId: string;
}

/** The explanation already written under `key`; CONFLICT when the key was retracted; undefined when unused. */
export async function findExplanation(database: Database, key: string): Promise<ExplanationRef | undefined> {
  const [row] = await database.db.select().from(reportExplanations).where(eq(reportExplanations.key, key));
  return row ? written(row) : undefined;
}

class KeyTaken extends Error {}

/**
 * Stores the explanation as an agent message in a new conversation of the
 * user with `agentId`. When a concurrent call stored one under the same key
 * first, this one is rolled back and the first is returned.
 */
export async function storeExplanation(
  database: Database,
  input: { key: string; userId: string; reportId: string; agentId: string; text: string; citations: CitationRef[] },
): Promise<ExplanationRef> {
  try {
    return await database.db.transaction(async (tx) => {
      const [conversation] = await tx.insert(conversations).values({ userId: input.userId, agentId: input.agentId }).returning({ id: conversations.id });
      if (!conversation) throw new Error('conversation insert returned no row');
      const [message] = await tx
        .insert(messages)
        .values({ conversationId: conversation.id, role: 'AGENT', text: input.text, degraded: false, provider: 'OFFLINE', citations: input.citations })
        .returning({ id: messages.id });
      if (!message) throw new Error('message insert returned no row');
      const keyed = await tx
        .insert(reportExplanations)
        .values({ key: input.key, userId: input.userId, reportId: input.reportId, conversationId: conversation.id, messageId: message.id })
        .onConflictDoNothing()
        .returning({ key: reportExplanations.key });
      if (keyed.length === 0) throw new KeyTaken();
      return { key: input.key, conversationId: conversation.id, messageId: message.id };
    });
  } catch (error) {
    if (!(error instanceof KeyTaken)) throw error;
    const existing = await findExplanation(database, input.key);
    if (!existing) throw new Error(`report explanation ${input.key} vanished after a concurrent write`);
    return existing;
  }
}

/**
 * Marks `key` retracted (creating the tombstone if nothing was written yet) and
 * removes what was written: the message, and the conversation unless it holds
 * other messages (the user may have replied). Repeating it changes nothing.
 */
export async function retractExplanation(database: Database, key: string): Promise<void> {
  await database.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(reportExplanations)
      .values({ key, retractedAt: sql`now()` })
      .onConflictDoUpdate({ target: reportExplanations.key, set: { retractedAt: sql`coalesce(${reportExplanations.retractedAt}, now())` } })
      .returning();
    if (!row?.messageId || !row.conversationId) return;
    await tx.delete(messages).where(eq(messages.id, row.messageId));
    await tx
      .delete(conversations)
      .where(and(eq(conversations.id, row.conversationId), notExists(tx.select({ one: sql`1` }).from(messages).where(eq(messages.conversationId, row.conversationId)))));
  });
}

function written(row: typeof reportExplanations.$inferSelect): ExplanationRef {
  if (row.retractedAt || !row.conversationId || !row.messageId) throw conflict(`The report explanation under key ${JSON.stringify(row.key)} was retracted`);
  return { key: row.key, conversationId: row.conversationId, messageId: row.messageId };
}

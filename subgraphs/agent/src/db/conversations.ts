import { and, desc, eq, sql } from 'drizzle-orm';
import { badInput, isUuid, notFound, type Database } from '@suoke/platform';
import { conversations, messages, type CitationRef, type ConversationRow, type MessageRow, type ReplyProvider, type StoredToolCall } from './schema.js';

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
  /** With `pendingReply`: the agent's reply row, STREAMING with no text yet, stored in the same transaction. */
  reply?: MessageRow | undefined;
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
  input: { userId: string; agentId: string; text: string; conversationId?: string | null | undefined; historyTurns: number; pendingReply?: boolean },
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
    const reply = input.pendingReply
      ? await insertMessage(tx, { conversationId: conversation.id, role: 'AGENT', text: '', degraded: false, provider: null, citations: [], status: 'STREAMING' })
      : undefined;
    return { conversation, message, history, reply };
  });
}

export interface ReplyToStore {
  text: string;
  degraded: boolean;
  provider: ReplyProvider;
  citations: CitationRef[];
  /** The tools the reply used, in order (`Message.toolCalls`); none when absent. */
  toolCalls?: StoredToolCall[] | undefined;
}

/** Stores the agent's reply and marks the conversation as active now. */
export async function storeReply(database: Database, conversationId: string, reply: ReplyToStore): Promise<{ conversation: ConversationRow; message: MessageRow }> {
  return database.db.transaction(async (tx) => {
    const message = await insertMessage(tx, { conversationId, role: 'AGENT', ...reply, toolCalls: reply.toolCalls ?? [] });
    const [conversation] = await tx.update(conversations).set({ updatedAt: sql`now()` }).where(eq(conversations.id, conversationId)).returning();
    if (!conversation) throw new Error(`conversation ${conversationId} vanished while replying`);
    return { conversation, message };
  });
}

type NewMessage = Omit<MessageRow, 'id' | 'seq' | 'createdAt' | 'status' | 'statusReason' | 'handedOffTo' | 'toolCalls'> &
  Partial<Pick<MessageRow, 'status' | 'statusReason' | 'handedOffTo' | 'toolCalls'>>;

async function insertMessage(tx: Tx, values: NewMessage): Promise<MessageRow> {
  const [row] = await tx.insert(messages).values(values).returning();
  if (!row) throw new Error('message insert returned no row');
  return row;
}

async function recentTurns(tx: Tx, conversationId: string, limit: number): Promise<Turn[]> {
  const rows = await tx
    .select({ role: messages.role, text: messages.text })
    .from(messages)
    // A reply still streaming (another turn in flight) or failed is not context the model should continue from.
    .where(and(eq(messages.conversationId, conversationId), eq(messages.status, 'COMPLETE')))
    .orderBy(desc(messages.seq))
    .limit(limit);
  return rows.reverse();
}

/** The text a streamed reply has so far, while it is STREAMING: what a subscriber joining mid-stream starts from. */
export async function storeStreamedText(database: Database, messageId: string, text: string): Promise<void> {
  await database.db
    .update(messages)
    .set({ text })
    .where(and(eq(messages.id, messageId), eq(messages.status, 'STREAMING')));
}

/**
 * Ends a streamed reply: COMPLETE with its text, provider and citations, or FAILED with a reason (and the text it had),
 * and marks the conversation as active now. A reply that had already ended is left as it was (undefined).
 */
export async function finishStreamedReply(
  database: Database,
  messageId: string,
  end: ({ status: 'COMPLETE' } & ReplyToStore) | { status: 'FAILED'; text: string; reason: string; provider: ReplyProvider | null; citations: CitationRef[] },
): Promise<MessageRow | undefined> {
  return database.db.transaction(async (tx) => {
    const values =
      end.status === 'COMPLETE'
        ? { status: 'COMPLETE' as const, text: end.text, degraded: end.degraded, provider: end.provider, citations: end.citations, toolCalls: end.toolCalls ?? [], statusReason: null }
        : { status: 'FAILED' as const, text: end.text, degraded: true, provider: end.provider, citations: end.citations, statusReason: end.reason };
    const [row] = await tx
      .update(messages)
      .set(values)
      .where(and(eq(messages.id, messageId), eq(messages.status, 'STREAMING')))
      .returning();
    if (!row) return undefined;
    await tx.update(conversations).set({ updatedAt: sql`now()` }).where(eq(conversations.id, row.conversationId));
    return row;
  });
}

/** A message with the user its conversation belongs to, for `messageStream`'s ownership check. */
export async function selectMessageWithOwner(database: Database, messageId: string): Promise<{ message: MessageRow; userId: string } | undefined> {
  if (!isUuid(messageId)) return undefined;
  const [row] = await database.db
    .select({ message: messages, userId: conversations.userId })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(eq(messages.id, messageId));
  return row;
}

/** A message by id (the final event of a stream reads the stored reply). */
export async function selectMessage(database: Database, messageId: string): Promise<MessageRow | undefined> {
  const [row] = await database.db.select().from(messages).where(eq(messages.id, messageId));
  return row;
}

/** Replies left STREAMING by a process that stopped before finishing them, older than `olderThanMs`: FAILED. */
export async function failAbandonedStreams(database: Database, olderThanMs: number, reason: string): Promise<string[]> {
  const rows = await database.db
    .update(messages)
    .set({ status: 'FAILED', statusReason: reason, degraded: true })
    .where(and(eq(messages.status, 'STREAMING'), sql`${messages.createdAt} < now() - make_interval(secs => ${olderThanMs / 1000})`))
    .returning({ id: messages.id });
  return rows.map((r) => r.id);
}

import { asc, inArray, sql } from 'drizzle-orm';
import { type Database, arrayParam, isoUtc } from '@suoke/platform';
import { agents, conversations, type AgentRow, type CitationRef, type ConversationRow, type MessageRole, type MessageRow, type MessageStatus, type ReplyProvider, type StoredToolCall } from './schema.js';

/**
 * The read statements behind the loaders. Each takes every key of a batch and
 * issues exactly one SQL statement, whatever the number of keys.
 */

export async function selectAgents(database: Database): Promise<AgentRow[]> {
  return database.db.select().from(agents).orderBy(asc(agents.position));
}

export async function selectConversations(database: Database, ids: readonly string[]): Promise<ConversationRow[]> {
  return database.db.select().from(conversations).where(inArray(conversations.id, [...ids]));
}

/** One page request of `User.conversations`. `limit` is first + 1: the extra row only tells that more follow. */
export interface ConversationPageQuery {
  userId: string;
  limit: number;
  /** Keyset position to continue after, as decoded from a cursor. */
  after: { at: Date; id: string } | null;
}

interface RawConversation {
  ord: number;
  id: string;
  userId: string;
  agentId: string;
  createdAt: string;
  updatedAt: string;
  handedOffFrom: string | null;
}

/** Pages of several users at once: rows tagged with the 1-based position (`ord`) of the query they answer. */
export async function selectConversationPages(
  database: Database,
  queries: readonly ConversationPageQuery[],
): Promise<Array<{ ord: number; row: ConversationRow }>> {
  const rows = await database.rows<RawConversation & Record<string, unknown>>(sql`
    select k.ord::int as ord, c.id::text as id, c.user_id::text as "userId", c.agent_id as "agentId",
           ${isoUtc(sql`c.created_at`)} as "createdAt", ${isoUtc(sql`c.updated_at`)} as "updatedAt",
           c.handed_off_from::text as "handedOffFrom"
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.limit), 'int')},
      ${arrayParam(queries.map((q) => q.after?.at ?? null), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.after?.id ?? null), 'uuid')}
    ) with ordinality as k(user_id, row_limit, after_at, after_id, ord)
    cross join lateral (
      select c.*
      from "agent".conversations c
      where c.user_id = k.user_id
        and (k.after_at is null or (c.updated_at, c.id) < (k.after_at, k.after_id))
      order by c.updated_at desc, c.id desc
      limit k.row_limit
    ) c
    order by k.ord, c.updated_at desc, c.id desc`);
  return rows.map(({ ord, ...raw }) => ({ ord, row: { ...raw, createdAt: new Date(raw.createdAt), updatedAt: new Date(raw.updatedAt) } }));
}

/** One page request of `Conversation.messages`, newest first. */
export interface MessagePageQuery {
  conversationId: string;
  limit: number;
  /** The `seq` of the last message of the previous page. */
  afterSeq: number | null;
}

interface RawMessage {
  ord: number;
  id: string;
  seq: string;
  conversationId: string;
  role: MessageRole;
  text: string;
  degraded: boolean;
  provider: ReplyProvider | null;
  citations: CitationRef[] | string;
  createdAt: string;
  status: MessageStatus;
  statusReason: string | null;
  handedOffTo: string | null;
  toolCalls: StoredToolCall[] | string;
}

/** Pages of several conversations at once, tagged with the position of the query they answer. */
export async function selectMessagePages(database: Database, queries: readonly MessagePageQuery[]): Promise<Array<{ ord: number; row: MessageRow }>> {
  const rows = await database.rows<RawMessage & Record<string, unknown>>(sql`
    select k.ord::int as ord, m.id::text as id, m.seq::text as seq, m.conversation_id::text as "conversationId",
           m.role, m.text, m.degraded, m.provider, m.citations, ${isoUtc(sql`m.created_at`)} as "createdAt",
           m.status, m.status_reason as "statusReason", m.handed_off_to::text as "handedOffTo",
           m.tool_calls as "toolCalls"
    from unnest(
      ${arrayParam(queries.map((q) => q.conversationId), 'uuid')},
      ${arrayParam(queries.map((q) => q.limit), 'int')},
      ${arrayParam(queries.map((q) => (q.afterSeq === null ? null : String(q.afterSeq))), 'text')}
    ) with ordinality as k(conversation_id, row_limit, after_seq, ord)
    cross join lateral (
      select m.*
      from "agent".messages m
      where m.conversation_id = k.conversation_id
        and (k.after_seq is null or m.seq < k.after_seq::bigint)
      order by m.seq desc
      limit k.row_limit
    ) m
    order by k.ord, m.seq desc`);
  return rows.map(({ ord, ...raw }) => ({ ord, row: toMessageRow(raw) }));
}

function toMessageRow(raw: Omit<RawMessage, 'ord'>): MessageRow {
  return {
    ...raw,
    seq: Number(raw.seq),
    // postgres.js and PGlite both parse jsonb, but a driver configured otherwise hands over text.
    citations: typeof raw.citations === 'string' ? (JSON.parse(raw.citations) as CitationRef[]) : raw.citations,
    toolCalls: typeof raw.toolCalls === 'string' ? (JSON.parse(raw.toolCalls) as StoredToolCall[]) : raw.toolCalls,
    createdAt: new Date(raw.createdAt),
  };
}

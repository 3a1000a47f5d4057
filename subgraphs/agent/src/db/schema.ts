import { bigint, boolean, integer, jsonb, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * The agent subgraph's own Postgres schema; no other subgraph reads it.
 * Mirrors migrations/, which are the source of truth.
 */
export const agentSchema = pgSchema('agent');

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export type AgentRole = 'HEALTH_ASSISTANT' | 'SERVICES' | 'KNOWLEDGE' | 'LIFESTYLE';
export type MessageRole = 'USER' | 'AGENT';
export type ReplyProvider = 'OPENAI_COMPATIBLE' | 'OFFLINE';
/** STREAMING while a streamed reply is produced; user messages and blocking replies are stored COMPLETE. */
export type MessageStatus = 'STREAMING' | 'COMPLETE' | 'FAILED';

/** The kinds of knowledge entity a reply can cite (the members of `KnowledgeItem`). */
export type CitationKind = 'CONSTITUTION' | 'HERB' | 'ACUPOINT' | 'SYNDROME' | 'ARTICLE';

/** A stored citation: the kind and the owner's key (`code` or `id`). */
export interface CitationRef {
  kind: CitationKind;
  key: string;
}

export const agents = agentSchema.table('agents', {
  id: text('id').primaryKey(),
  position: integer('position').notNull(),
  name: text('name').notNull(),
  nameEn: text('name_en').notNull(),
  role: text('role').notNull().$type<AgentRole>(),
  description: text('description').notNull(),
  capabilities: text('capabilities').array().notNull(),
});

export const conversations = agentSchema.table('conversations', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  agentId: text('agent_id').notNull(),
  createdAt: instant('created_at').notNull().defaultNow(),
  updatedAt: instant('updated_at').notNull().defaultNow(),
});

export const messages = agentSchema.table('messages', {
  id: uuid('id').primaryKey().defaultRandom(),
  seq: bigint('seq', { mode: 'number' }).generatedAlwaysAsIdentity(),
  conversationId: uuid('conversation_id').notNull(),
  role: text('role').notNull().$type<MessageRole>(),
  text: text('text').notNull(),
  degraded: boolean('degraded').notNull().default(false),
  provider: text('provider').$type<ReplyProvider>(),
  citations: jsonb('citations').notNull().$type<CitationRef[]>(),
  createdAt: instant('created_at').notNull().defaultNow(),
  status: text('status').notNull().default('COMPLETE').$type<MessageStatus>(),
  /** Why a reply FAILED, for the user to read; null otherwise. */
  statusReason: text('status_reason'),
});

/** What an `Agent` resolves from. */
export type AgentRow = typeof agents.$inferSelect;

/** What a `Conversation` resolves from. */
export type ConversationRow = typeof conversations.$inferSelect;

/** What a `Message` resolves from. */
export type MessageRow = typeof messages.$inferSelect;

/** A `User` as this subgraph knows it: only the key, from the entity representation. */
export interface UserRef {
  id: string;
}

/** References to the knowledge subgraph's entities, tagged for `KnowledgeItem`'s type resolution. */
export interface ConstitutionRef {
  __typename: 'Constitution';
  code: string;
}
export interface HerbRef {
  __typename: 'Herb';
  id: string;
}
export interface AcupointRef {
  __typename: 'Acupoint';
  code: string;
}
export interface SyndromeRef {
  __typename: 'Syndrome';
  code: string;
}
export interface ArticleRef {
  __typename: 'Article';
  id: string;
}
export type KnowledgeRef = ConstitutionRef | HerbRef | AcupointRef | SyndromeRef | ArticleRef;

/** The entity reference a stored citation stands for. */
export function knowledgeRef(citation: CitationRef): KnowledgeRef {
  switch (citation.kind) {
    case 'CONSTITUTION':
      return { __typename: 'Constitution', code: citation.key };
    case 'HERB':
      return { __typename: 'Herb', id: citation.key };
    case 'ACUPOINT':
      return { __typename: 'Acupoint', code: citation.key };
    case 'SYNDROME':
      return { __typename: 'Syndrome', code: citation.key };
    case 'ARTICLE':
      return { __typename: 'Article', id: citation.key };
  }
}

export const reportExplanations = agentSchema.table('report_explanations', {
  key: text('key').primaryKey(),
  userId: uuid('user_id'),
  reportId: uuid('report_id'),
  conversationId: uuid('conversation_id'),
  messageId: uuid('message_id'),
  createdAt: instant('created_at').notNull().defaultNow(),
  retractedAt: instant('retracted_at'),
});

export type ReminderRecurrence = 'NONE' | 'DAILY' | 'WEEKLY';
/** ACTIVE while an occurrence is due; DONE after the last one fired; CANCELLED by the user. */
export type ReminderStatus = 'ACTIVE' | 'DONE' | 'CANCELLED';

/** Mirrors migrations/0008_reminders.sql. */
export const reminders = agentSchema.table('reminders', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  text: text('text').notNull(),
  timeZone: text('time_zone').notNull(),
  localStart: text('local_start').notNull(),
  recurrence: text('recurrence').notNull().$type<ReminderRecurrence>(),
  status: text('status').notNull().$type<ReminderStatus>(),
  nextOccurrence: integer('next_occurrence').notNull(),
  nextFireAt: instant('next_fire_at'),
  firedCount: integer('fired_count').notNull(),
  lastFiredAt: instant('last_fired_at'),
  clientKey: text('client_key'),
  createdAt: instant('created_at').notNull().defaultNow(),
  cancelledAt: instant('cancelled_at'),
});

export type ReminderRow = typeof reminders.$inferSelect;

export const seasonFollowers = agentSchema.table('season_followers', {
  userId: uuid('user_id').primaryKey(),
  followedAt: instant('followed_at').notNull().defaultNow(),
});

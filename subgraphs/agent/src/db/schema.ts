import { sql } from 'drizzle-orm';
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

/** The kinds of knowledge entity a reply can cite (the members of `KnowledgeItem`; what a knowledge search finds). */
export type CitationKind = 'CONSTITUTION' | 'HERB' | 'ACUPOINT' | 'SYNDROME' | 'ARTICLE';
/**
 * The kinds of the user's own items a reply can cite, with their consent (issue 20): a `HealthSummary` (key: the
 * platform's `healthSummaryId`) or a `DiagnosisReport` (key: its id). With CitationKind, the members of `Citation`.
 */
export type PersonalCitationKind = 'HEALTH_SUMMARY' | 'DIAGNOSIS_REPORT';

/** A stored citation: the kind and the owner's key (`code` or `id`). */
export interface CitationRef {
  kind: CitationKind | PersonalCitationKind;
  key: string;
}
/** A stored citation of a knowledge entry (what care plans cite). */
export interface KnowledgeCitationRef extends CitationRef {
  kind: CitationKind;
}

/** The tools of `Message.toolCalls` (the enum `AgentTool`): the runner's tool names, upper-cased. */
export type AgentTool = 'SEARCH_KNOWLEDGE' | 'GET_HEALTH_SUMMARY' | 'GET_LATEST_REPORT' | 'CREATE_REMINDER' | 'BOOK_APPOINTMENT' | 'HAND_OFF';
/** OK: done; REFUSED: not run (invalid call, no consent, a limit); FAILED: run, but it could not be done. */
export type ToolCallOutcome = 'OK' | 'REFUSED' | 'FAILED';

/** One tool call of a reply as stored with it (migration 0010): what the owner may read, never arguments or results. */
export interface StoredToolCall {
  name: AgentTool;
  /** 1-based round of the reply's tool loop (the offline rules' calls are round 1, a follow-up round 2). */
  round: number;
  outcome: ToolCallOutcome;
  /** The error result's stable code (CONSENT_REQUIRED, LIMIT_REACHED, CONFLICT…); null when OK. */
  code: string | null;
  /** Short, in Chinese, for the user: "提醒已创建：每天 21:00 喝水". */
  summary: string;
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
  /** The reply of XiaoAI that handed the question to this conversation's agent; null for conversations the user began. */
  handedOffFrom: uuid('handed_off_from'),
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
  /** The conversation this reply handed the question to (`Message.handedOffTo`); null otherwise. */
  handedOffTo: uuid('handed_off_to'),
  /** The tools the reply used, in the order they ran (`Message.toolCalls`); empty for the user's messages. */
  toolCalls: jsonb('tool_calls').notNull().default(sql`'[]'::jsonb`).$type<StoredToolCall[]>(),
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
/** References to the user's own cited items, resolved (for their owner only) by the health and diagnosis subgraphs. */
export interface HealthSummaryRef {
  __typename: 'HealthSummary';
  id: string;
}
export interface DiagnosisReportRef {
  __typename: 'DiagnosisReport';
  id: string;
}
/** Any citation, tagged for `Citation`'s type resolution. */
export type CitationEntityRef = KnowledgeRef | HealthSummaryRef | DiagnosisReportRef;

/** The entity reference a stored citation stands for. */
export function knowledgeRef(citation: KnowledgeCitationRef): KnowledgeRef;
export function knowledgeRef(citation: CitationRef): CitationEntityRef;
export function knowledgeRef(citation: CitationRef): CitationEntityRef {
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
    case 'HEALTH_SUMMARY':
      return { __typename: 'HealthSummary', id: citation.key };
    case 'DIAGNOSIS_REPORT':
      return { __typename: 'DiagnosisReport', id: citation.key };
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

// --- XiaoKe 小克: care plans and appointments (migration 0009_care.sql) ---

export type CarePlanStatus = 'PROPOSED' | 'ACTIVE' | 'SUPERSEDED';
/** What part of daily life a recommendation is about. */
export type CareCategory = 'PRINCIPLE' | 'DIET' | 'HERB' | 'ACUPOINT' | 'EXERCISE' | 'SLEEP' | 'EMOTION';

/** One stored recommendation of a care plan, with the knowledge entry it cites. */
export interface StoredRecommendation {
  category: CareCategory;
  title: string;
  text: string;
  /** Cautions to heed (herbs' contraindications); empty when none. */
  cautions: string[];
  source: KnowledgeCitationRef;
}

export const carePlans = agentSchema.table('care_plans', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  version: integer('version').notNull(),
  status: text('status').notNull().$type<CarePlanStatus>(),
  reportId: uuid('report_id').notNull(),
  reportCreatedAt: instant('report_created_at').notNull(),
  primaryConstitution: text('primary_constitution').notNull(),
  secondaryConstitutions: text('secondary_constitutions').array().notNull(),
  syndromes: text('syndromes').array().notNull(),
  recommendations: jsonb('recommendations').notNull().$type<StoredRecommendation[]>(),
  createdAt: instant('created_at').notNull().defaultNow(),
  activatedAt: instant('activated_at'),
  supersededAt: instant('superseded_at'),
});

/** What a `CarePlan` resolves from. */
export type CarePlanRow = typeof carePlans.$inferSelect;

export const practitioners = agentSchema.table('practitioners', {
  id: uuid('id').primaryKey(),
  position: integer('position').notNull(),
  name: text('name').notNull(),
  title: text('title').notNull(),
  specialty: text('specialty').notNull(),
});

/** What a `Practitioner` resolves from. */
export type PractitionerRow = typeof practitioners.$inferSelect;

export const slots = agentSchema.table('slots', {
  id: uuid('id').primaryKey(),
  practitionerId: uuid('practitioner_id').notNull(),
  startsAt: instant('starts_at').notNull(),
  endsAt: instant('ends_at').notNull(),
});

/** What a `Slot` resolves from. */
export type SlotRow = typeof slots.$inferSelect;

export type AppointmentStatus = 'BOOKED' | 'CANCELLED';

export const appointments = agentSchema.table('appointments', {
  id: uuid('id').primaryKey().defaultRandom(),
  userId: uuid('user_id').notNull(),
  slotId: uuid('slot_id').notNull(),
  clientKey: text('client_key').notNull(),
  status: text('status').notNull().default('BOOKED').$type<AppointmentStatus>(),
  createdAt: instant('created_at').notNull().defaultNow(),
  cancelledAt: instant('cancelled_at'),
  cancelKey: text('cancel_key'),
});

/** What an `Appointment` resolves from: the booking with its slot's times and practitioner (read in the same statement). */
export interface AppointmentRow {
  id: string;
  userId: string;
  slotId: string;
  clientKey: string;
  status: AppointmentStatus;
  createdAt: Date;
  cancelledAt: Date | null;
  practitionerId: string;
  startsAt: Date;
  endsAt: Date;
}

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

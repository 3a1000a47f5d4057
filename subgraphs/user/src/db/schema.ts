import { getTableColumns } from 'drizzle-orm';
import { bigint, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { AgentAccessScope } from '@suoke/platform';

/** The user subgraph's own Postgres schema; no other subgraph reads it. Mirrors migrations/. */
export const userSchema = pgSchema('user');

export const users = userSchema.table('users', {
  id: uuid('id').primaryKey().defaultRandom(),
  email: text('email').notNull(),
  passwordHash: text('password_hash').notNull(),
  displayName: text('display_name').notNull(),
  locale: text('locale').notNull(),
  roles: text('roles').array().notNull().$type<Array<'USER' | 'CLINICIAN' | 'ADMIN'>>(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export const refreshTokens = userSchema.table('refresh_tokens', {
  id: uuid('id').primaryKey().defaultRandom(),
  familyId: uuid('family_id').notNull(),
  userId: uuid('user_id').notNull(),
  tokenHash: text('token_hash').notNull(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
  revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export type UserRow = typeof users.$inferSelect;

/**
 * An account as the API serves it: everything but the password hash, which a
 * read never fetches (and so no cache ever holds).
 */
export type UserRecord = Omit<UserRow, 'passwordHash'>;
const { passwordHash: _passwordHash, ...recordColumns } = getTableColumns(users);
export const userRecordColumns = recordColumns;

export type NotificationKind = 'REPORT_READY' | 'REMINDER' | 'SEASONAL_ADVICE';

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export const notifications = userSchema.table('notifications', {
  id: uuid('id').primaryKey().defaultRandom(),
  key: text('key').notNull(),
  userId: uuid('user_id'),
  kind: text('kind').$type<NotificationKind>(),
  title: text('title'),
  body: text('body'),
  reportId: uuid('report_id'),
  createdAt: instant('created_at').notNull().defaultNow(),
  readAt: instant('read_at'),
  retractedAt: instant('retracted_at'),
});

/** A notification as `Notification` resolves it: posted, never retracted. */
export interface NotificationRow {
  id: string;
  userId: string;
  kind: NotificationKind;
  title: string;
  body: string;
  reportId: string | null;
  createdAt: Date;
  readAt: Date | null;
}

/** Consent to the agents, per user (migrations/0003_agent_access.sql). */
export const agentAccess = userSchema.table('agent_access', {
  userId: uuid('user_id').primaryKey(),
  scopes: text('scopes').array().notNull().$type<AgentAccessScope[]>(),
  version: bigint('version', { mode: 'number' }).notNull(),
  grantedAt: instant('granted_at'),
  updatedAt: instant('updated_at').notNull().defaultNow(),
});

/** An `AgentAccess` as resolved: a user who never granted anything has version 0 and no scopes. */
export interface AgentAccessRow {
  userId: string;
  scopes: AgentAccessScope[];
  version: number;
  grantedAt: Date | null;
  updatedAt: Date | null;
}

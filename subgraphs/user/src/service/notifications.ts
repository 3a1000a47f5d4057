import { eq } from 'drizzle-orm';
import { badInput, conflict, isUuid, notFound, type Database } from '@suoke/platform';
import { insertNotification, markRead, retractNotificationByKey } from '../db/notifications.js';
import { users, type NotificationKind, type NotificationRow, type notifications } from '../db/schema.js';

const KINDS: readonly NotificationKind[] = ['REPORT_READY', 'REMINDER', 'SEASONAL_ADVICE'];

export interface PostNotificationInput {
  key: string;
  userId: string;
  kind: NotificationKind;
  title: string;
  body: string;
  reportId?: string | null | undefined;
}

function text(value: string, field: string, max: number): string {
  const trimmed = value.trim();
  const length = [...trimmed].length;
  if (length < 1 || length > max) throw badInput(`${field} must have 1–${max} characters after trimming; received ${length}`, `input.${field}`);
  return trimmed;
}

function shown(row: typeof notifications.$inferSelect): NotificationRow {
  if (!row.userId || !row.kind || row.title === null || row.body === null) throw new Error(`notification ${row.id} has no content`);
  return { id: row.id, userId: row.userId, kind: row.kind, title: row.title, body: row.body, reportId: row.reportId, createdAt: row.createdAt, readAt: row.readAt };
}

/**
 * Notifications posted by services and read by their user (and followed
 * live with `notificationAdded`). Posting is idempotent by key: the same key returns the notification already posted,
 * and a retracted key is CONFLICT, so a late retry cannot bring it back.
 */
export async function postNotification(
  database: Database,
  input: PostNotificationInput,
  announce?: (row: NotificationRow) => Promise<void>,
): Promise<NotificationRow> {
  const key = text(input.key, 'key', 200);
  if (!isUuid(input.userId)) throw badInput(`userId must be a UUID; received ${JSON.stringify(input.userId)}`, 'input.userId');
  if (!KINDS.includes(input.kind)) throw badInput(`kind must be one of ${KINDS.join(', ')}; received ${JSON.stringify(input.kind)}`, 'input.kind');
  const reportId = input.reportId ?? null;
  if (reportId !== null && !isUuid(reportId)) throw badInput(`reportId must be a UUID; received ${JSON.stringify(reportId)}`, 'input.reportId');
  const values = { key, userId: input.userId.toLowerCase(), kind: input.kind, title: text(input.title, 'title', 120), body: text(input.body, 'body', 1000), reportId };
  const [owner] = await database.db.select({ id: users.id }).from(users).where(eq(users.id, values.userId));
  if (!owner) throw badInput(`userId must name an existing user; received ${JSON.stringify(input.userId)}`, 'input.userId');
  const { row, retracted, created } = await insertNotification(database, values);
  if (retracted) throw conflict(`The notification under key ${JSON.stringify(key)} was retracted`);
  const posted = shown(row);
  // Committed (one statement): announced once, when first stored; a retry with the same key announces nothing.
  if (created) await announce?.(posted);
  return posted;
}

export async function retractNotification(database: Database, key: string): Promise<boolean> {
  const trimmed = key.trim();
  if (trimmed.length < 1 || trimmed.length > 200) throw badInput(`key must have 1–200 characters; received ${trimmed.length}`, 'key');
  await retractNotificationByKey(database, trimmed);
  return true;
}

/** The caller's own notification, marked read; NOT_FOUND for an unknown id and anyone else's alike. */
export async function markNotificationRead(database: Database, userId: string, id: string): Promise<NotificationRow> {
  const row = isUuid(id) ? await markRead(database, userId, id) : undefined;
  if (!row) throw notFound(`No notification with id ${JSON.stringify(id)} was found`);
  return shown(row);
}

/** The bus topic of one user's new notifications (`notificationAdded`). */
export function notificationTopic(userId: string): string {
  return `user:notifications:${userId.toLowerCase()}`;
}

/** A notification as it travels on the bus (JSON: dates as strings). */
export type NotificationEvent = Omit<NotificationRow, 'createdAt' | 'readAt'> & { createdAt: string | Date; readAt: string | Date | null };

export function notificationFromEvent(event: NotificationEvent): NotificationRow {
  return { ...event, createdAt: new Date(event.createdAt), readAt: event.readAt === null ? null : new Date(event.readAt) };
}

import { and, eq, isNull, sql } from 'drizzle-orm';
import { arrayParam, isoUtc, type Database } from '@suoke/platform';
import { notifications, type NotificationKind, type NotificationRow } from './schema.js';

/** One page request of `User.notifications`. `limit` is first + 1: the extra row only tells that more follow. */
export interface NotificationPageQuery {
  userId: string;
  limit: number;
  after: { at: Date; id: string } | null;
}

interface RawNotification {
  ord: number;
  id: string;
  userId: string;
  kind: NotificationKind;
  title: string;
  body: string;
  reportId: string | null;
  createdAt: string;
  readAt: string | null;
}

/** Pages of several users at once (one statement): rows tagged with the 1-based position of the query they answer. */
export async function selectNotificationPages(database: Database, queries: readonly NotificationPageQuery[]): Promise<Array<{ ord: number; row: NotificationRow }>> {
  const rows = await database.rows<RawNotification & Record<string, unknown>>(sql`
    select k.ord::int as ord, n.id::text as id, n.user_id::text as "userId", n.kind, n.title, n.body, n.report_id::text as "reportId",
           ${isoUtc(sql`n.created_at`)} as "createdAt", ${isoUtc(sql`n.read_at`)} as "readAt"
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.limit), 'int')},
      ${arrayParam(queries.map((q) => q.after?.at ?? null), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.after?.id ?? null), 'uuid')}
    ) with ordinality as k(user_id, row_limit, after_at, after_id, ord)
    cross join lateral (
      select n.*
      from "user".notifications n
      where n.user_id = k.user_id and n.retracted_at is null
        and (k.after_at is null or (n.created_at, n.id) < (k.after_at, k.after_id))
      order by n.created_at desc, n.id desc
      limit k.row_limit
    ) n
    order by k.ord, n.created_at desc, n.id desc`);
  return rows.map(({ ord, ...raw }) => ({
    ord,
    row: { ...raw, createdAt: new Date(raw.createdAt), readAt: raw.readAt === null ? null : new Date(raw.readAt) },
  }));
}

export interface NotificationToPost {
  key: string;
  userId: string;
  kind: NotificationKind;
  title: string;
  body: string;
  reportId: string | null;
}

/**
 * Stores the notification unless its key is already used. Returns the row
 * under the key: the one just stored (`created`), the one stored earlier, or a
 * retracted tombstone (`retracted: true`), which is never shown again.
 */
export async function insertNotification(
  database: Database,
  values: NotificationToPost,
): Promise<{ row: typeof notifications.$inferSelect; retracted: boolean; created: boolean }> {
  const [inserted] = await database.db.insert(notifications).values(values).onConflictDoNothing({ target: notifications.key }).returning();
  const row = inserted ?? (await database.db.select().from(notifications).where(eq(notifications.key, values.key)))[0];
  if (!row) throw new Error(`notification ${values.key} vanished after a conflicting insert`);
  return { row, retracted: row.retractedAt !== null, created: inserted !== undefined };
}

/** Retracts the notification under `key`, leaving a tombstone even when none was posted yet. Idempotent. */
export async function retractNotificationByKey(database: Database, key: string): Promise<void> {
  await database.db
    .insert(notifications)
    .values({ key, retractedAt: sql`now()` })
    .onConflictDoUpdate({ target: notifications.key, set: { retractedAt: sql`coalesce(${notifications.retractedAt}, now())` } });
}

/** Marks the user's own visible notification read; undefined when there is none with this id for them. */
export async function markRead(database: Database, userId: string, id: string): Promise<typeof notifications.$inferSelect | undefined> {
  const [row] = await database.db
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, now())` })
    .where(and(eq(notifications.id, id), eq(notifications.userId, userId), isNull(notifications.retractedAt)))
    .returning();
  return row;
}

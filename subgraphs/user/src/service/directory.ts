import { and, asc, count, eq, gt, or } from 'drizzle-orm';
import type { Connection, Database } from '@suoke/platform';
import { users, type UserRow } from '../db/schema.js';

/**
 * The admin account list: one page in (created_at, id) order, fetched with
 * LIMIT first + 1 so the caller can tell whether another page follows.
 */
export function selectUserPage(database: Database, limit: number, after: { at: Date; id: string } | undefined): Promise<UserRow[]> {
  const where = after ? or(gt(users.createdAt, after.at), and(eq(users.createdAt, after.at), gt(users.id, after.id))) : undefined;
  return database.db.select().from(users).where(where).orderBy(asc(users.createdAt), asc(users.id)).limit(limit);
}

export async function countUsers(database: Database): Promise<number> {
  return (await database.db.select({ n: count() }).from(users))[0]?.n ?? 0;
}

/** What `Query.users` resolves to: one page, and the count of all accounts, run only when `totalCount` is selected. */
export interface UserPage extends Connection<UserRow> {
  countAll: () => Promise<number>;
}

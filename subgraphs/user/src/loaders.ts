import { inArray } from 'drizzle-orm';
import { isUuid, keyedLoader, positionalLoader, type Database } from '@suoke/platform';
import { selectNotificationPages, type NotificationPageQuery } from './db/notifications.js';
import { users, type NotificationRow, type UserRow } from './db/schema.js';

/** Per-request loaders: one SQL statement per batch, results aligned with keys. */
export function createLoaders(database: Database) {
  return {
    userById: keyedLoader<string, UserRow | null, UserRow>(
      // A malformed id matches nothing; it must not fail the other keys of the batch.
      async (ids) => {
        const valid = ids.filter(isUuid);
        return valid.length === 0 ? [] : database.db.select().from(users).where(inArray(users.id, valid));
      },
      (row) => row.id,
      { missing: null },
    ),
    notificationPage: positionalLoader<NotificationPageQuery, NotificationRow>(
      (queries) => selectNotificationPages(database, queries),
      (query) => isUuid(query.userId),
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

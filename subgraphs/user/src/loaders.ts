import { inArray } from 'drizzle-orm';
import { isUuid, keyedLoader, positionalLoader, withUuids, type AuthUser, type Database, type EntityCaches } from '@suoke/platform';
import { selectNotificationPages, type NotificationPageQuery } from './db/notifications.js';
import { userRecordColumns, users, type AgentAccessRow, type NotificationRow, type UserRecord } from './db/schema.js';
import { selectAgentAccess } from './service/agent-access.js';

const USER_CODEC = {
  encode: (row: UserRecord) => JSON.stringify(row),
  decode: (text: string): UserRecord => {
    const row = JSON.parse(text) as UserRecord & { createdAt: string; updatedAt: string };
    return { ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) };
  },
};

/**
 * Accounts in the process's multi-level cache (platform entity-cache.ts): `me`
 * and every User reference read it first; `updateProfile` invalidates.
 */
export function userCache(entities: EntityCaches) {
  return entities.cache<UserRecord>('user', USER_CODEC);
}

/** Per-request loaders: one SQL statement per batch (none for cached accounts), results aligned with keys. */
export function createLoaders(database: Database, _user: AuthUser | undefined, entities: EntityCaches) {
  const accounts = userCache(entities);
  return {
    userById: keyedLoader<string, UserRecord | null, UserRecord>(
      // A malformed id matches nothing; it must not fail the other keys of the batch.
      (ids) =>
        accounts.loadMany(
          ids.filter(isUuid),
          (row) => row.id,
          (valid) => database.db.select(userRecordColumns).from(users).where(inArray(users.id, valid)),
        ),
      (row) => row.id,
      { missing: null },
    ),
    /** Consent to the agents; a user with no row has granted nothing (the resolver supplies that). */
    agentAccess: keyedLoader<string, AgentAccessRow | null, AgentAccessRow>(
      (ids) => withUuids(ids, (valid) => selectAgentAccess(database, valid)),
      (row) => row.userId,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    notificationPage: positionalLoader<NotificationPageQuery, NotificationRow>(
      (queries) => selectNotificationPages(database, queries),
      (query) => isUuid(query.userId),
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

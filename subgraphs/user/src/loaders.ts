import { inArray } from 'drizzle-orm';
import { keyedLoader, type Database } from '@suoke/platform';
import { users, type UserRow } from './db/schema.js';

/** Per-request loaders: one SQL statement per batch, results aligned with keys. */
export function createLoaders(database: Database) {
  return {
    userById: keyedLoader<string, UserRow | null, UserRow>(
      (ids) => database.db.select().from(users).where(inArray(users.id, [...ids])),
      (row) => row.id,
      { missing: null },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

import { fileURLToPath } from 'node:url';
import { audit, runMigrations, type Database } from '@suoke/platform';

/** The committed SQL migrations of this subgraph, applied to schema "health". */
export const migrationsDir = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));

export function migrate(database: Database) {
  return runMigrations(database, 'health', migrationsDir, [audit]);
}

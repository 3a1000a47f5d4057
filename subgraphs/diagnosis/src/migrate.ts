import { fileURLToPath } from 'node:url';
import { audit, runMigrations, type Database } from '@suoke/platform';

/** The committed SQL migrations of this subgraph (tables, then the questionnaire), applied to schema "diagnosis". */
export const migrationsDir = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));

export function migrate(database: Database) {
  return runMigrations(database, 'diagnosis', migrationsDir, [audit]);
}

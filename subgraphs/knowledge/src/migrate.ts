import { fileURLToPath } from 'node:url';
import { runMigrations, type Database, type MigrationResult } from '@suoke/platform';
import { content } from './content/index.js';
import { syncContent, type SyncResult } from './db/sync.js';

/** The committed SQL migrations of this subgraph, applied to schema "knowledge". */
export const migrationsDir = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));

/**
 * Applies the SQL migrations, then loads the reference content from
 * src/content/: the product needs it in every environment, so it ships with
 * `migrate`, not with the development seed. Re-running changes nothing.
 */
export async function migrate(database: Database): Promise<MigrationResult & { content: SyncResult }> {
  const result = await runMigrations(database, 'knowledge', migrationsDir);
  return { ...result, content: await syncContent(database, content) };
}

import type { Database } from '@suoke/platform';
import { content } from './content/index.js';
import { countContent } from './db/queries.js';
import { syncContent } from './db/sync.js';

export interface SeedKnowledgeResult {
  /** Rows written by this call: zero when `migrate` already loaded the content. */
  changed: number;
  /** Items per kind now stored. */
  counts: Record<string, number>;
}

/**
 * Knowledge has no per-user data: its content is reference data that
 * `migrate` loads in every environment. The development seed only makes sure
 * it is there (idempotently) and reports what is stored; `userIds` is unused.
 */
export async function seedKnowledge(database: Database, _options: { userIds?: string[] } = {}): Promise<SeedKnowledgeResult> {
  const { changed } = await syncContent(database, content);
  return { changed, counts: await countContent(database) };
}

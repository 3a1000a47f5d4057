import { inArray } from 'drizzle-orm';
import { isUuid, keyedLoader, positionalLoader, withUuids, type Database } from '@suoke/platform';
import { selectAgents, selectConversationPages, selectConversations, selectMessagePages, type ConversationPageQuery, type MessagePageQuery } from './db/queries.js';
import { agents, type AgentRow, type ConversationRow, type MessageRow } from './db/schema.js';
import { createCareLoaders } from './loaders-care.js';

/** Agent ids are compared in lower case: `XiaoAI` and `xiaoai` name the same agent. */
export const agentKey = (id: string) => id.trim().toLowerCase();

/**
 * Per-request loaders: every per-parent field and every entity reference goes
 * through one of these, and each batch is one SQL statement whatever the number
 * of keys. Keys that are not UUIDs cannot match a row and never reach SQL.
 */
export function createLoaders(database: Database) {
  const conversationById = keyedLoader<string, ConversationRow | null, ConversationRow>(
    (ids) => withUuids(ids, (valid) => selectConversations(database, valid)),
    (row) => row.id,
    { missing: null, cacheKey: (id) => id.toLowerCase() },
  );
  let agentList: Promise<AgentRow[]> | undefined;
  return {
    /** The four agents in order, read at most once per request. */
    agents: () => (agentList ??= selectAgents(database)),
    agentById: keyedLoader<string, AgentRow | null, AgentRow>(
      (ids) => database.db.select().from(agents).where(inArray(agents.id, ids.map(agentKey))),
      (row) => row.id,
      { missing: null, cacheKey: agentKey },
    ),
    conversationById,
    conversationPage: positionalLoader<ConversationPageQuery, ConversationRow>(
      async (keys) => {
        const rows = await selectConversationPages(database, keys);
        // A conversation read in a page is not read again by id in the same request.
        for (const { row } of rows) conversationById.prime(row.id, row);
        return rows;
      },
      (key) => isUuid(key.userId),
    ),
    messagePage: positionalLoader<MessagePageQuery, MessageRow>(
      (keys) => selectMessagePages(database, keys),
      (key) => isUuid(key.conversationId),
    ),
    ...createCareLoaders(database),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

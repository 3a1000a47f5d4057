import { badInput, pageSize, type Database } from '@suoke/platform';
import { searchKnowledge } from '../db/search.js';
import type { SearchHitRow } from '../db/schema.js';
import type { KnowledgeKindName } from '../search/documents.js';
import { normaliseQuery } from '../search/text.js';

/** Longest accepted query, in characters after trimming; 200 or more is refused. */
export const MAX_QUERY_LENGTH = 199;
export const SEARCH_PAGE = { defaultFirst: 10, maxFirst: 50 };

export interface SearchArgs {
  query: string;
  kinds?: readonly KnowledgeKindName[] | null | undefined;
  first?: number | null | undefined;
}

/** Checks the arguments (each error names its argument and the value received), then runs the one search statement. */
export async function search(database: Database, args: SearchArgs): Promise<SearchHitRow[]> {
  const trimmed = args.query.trim();
  const length = [...trimmed].length;
  if (length === 0) throw badInput('query must contain at least one character besides spaces; received an empty query', 'query');
  if (length > MAX_QUERY_LENGTH) {
    throw badInput(`query must be at most ${MAX_QUERY_LENGTH} characters after trimming; received ${length}`, 'query');
  }
  if (args.kinds && args.kinds.length === 0) throw badInput('kinds must name at least one kind when given; omit it to search every kind', 'kinds');
  const limit = pageSize(args.first, SEARCH_PAGE);
  const query = normaliseQuery(trimmed);
  // NFKC can fold a query made only of exotic spaces to nothing.
  if (query.terms.length === 0) return [];
  return searchKnowledge(database, { query, kinds: args.kinds ? [...new Set(args.kinds)] : null, limit });
}

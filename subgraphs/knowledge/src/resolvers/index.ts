import { DateTime } from '@suoke/platform';
import type { Resolvers } from '../generated/resolvers.js';
import { entityResolvers } from './entities.js';
import { queryResolvers } from './query.js';

/** Thin resolvers: reads go through loaders (per parent, per reference) or one statement per root field. */
export function createResolvers(): Resolvers {
  return {
    DateTime,
    Query: queryResolvers,
    ...entityResolvers,
    KnowledgeItem: { __resolveType: (item) => item.__typename },
    SearchHit: { item: (hit) => hit.item, kind: (hit) => hit.kind },
  };
}

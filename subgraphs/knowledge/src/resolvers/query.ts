import type { QueryResolvers } from '../generated/resolvers.js';
import { selectAllConstitutions } from '../db/queries.js';
import { acupointPage, articlePage, herbPage, syndromePage } from '../service/pages.js';
import { search } from '../service/search.js';

/** Root fields. Everything here is public reference data: no authentication needed. */
export const queryResolvers: QueryResolvers = {
  constitutions: async (_parent, _args, ctx) => {
    const rows = await selectAllConstitutions(ctx.database);
    // Fields asked of these rows later (e.g. a reference by code) need no second read.
    for (const row of rows) ctx.loaders.constitution.prime(row.code, row);
    return rows;
  },
  constitution: (_parent, { code }, ctx) => ctx.loaders.constitution.load(code),
  herb: (_parent, { id }, ctx) => ctx.loaders.herb.load(id),
  acupoint: (_parent, { code }, ctx) => ctx.loaders.acupoint.load(code),
  syndrome: (_parent, { code }, ctx) => ctx.loaders.syndrome.load(code),
  article: (_parent, { id }, ctx) => ctx.loaders.article.load(id),
  herbs: (_parent, args, ctx) => herbPage(ctx.database, args),
  acupoints: (_parent, args, ctx) => acupointPage(ctx.database, args),
  syndromes: (_parent, args, ctx) => syndromePage(ctx.database, args),
  articles: (_parent, args, ctx) => articlePage(ctx.database, args),
  search: (_parent, args, ctx) => search(ctx.database, args),
};

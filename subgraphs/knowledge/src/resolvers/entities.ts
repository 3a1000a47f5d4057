import type { ArticleResolvers, ConstitutionResolvers, HerbResolvers, AcupointResolvers, SyndromeResolvers } from '../generated/resolvers.js';

/**
 * The entities owned here. Every `__resolveReference` and every list field
 * goes through a per-request loader, so N references or N parents cost one
 * statement per loader, never one per item.
 */
const Constitution: ConstitutionResolvers = {
  __resolveReference: (reference, ctx) => ctx.loaders.constitution.load(reference.code),
  advice: (c) => ({ diet: c.adviceDiet, exercise: c.adviceExercise, sleep: c.adviceSleep, emotions: c.adviceEmotions, seasons: c.adviceSeasons }),
  recommendedHerbs: (c, _args, ctx) => ctx.loaders.herbsOfConstitution.load(c.code),
  recommendedFoods: (c, _args, ctx) => ctx.loaders.foodsOfConstitution.load(c.code),
  recommendedAcupoints: (c, _args, ctx) => ctx.loaders.acupointsOfConstitution.load(c.code),
  relatedSyndromes: (c, _args, ctx) => ctx.loaders.syndromesOfConstitution.load(c.code),
};

const Herb: HerbResolvers = {
  __resolveReference: (reference, ctx) => ctx.loaders.herb.load(reference.id),
};

const Acupoint: AcupointResolvers = {
  __resolveReference: (reference, ctx) => ctx.loaders.acupoint.load(reference.code),
};

const Syndrome: SyndromeResolvers = {
  __resolveReference: (reference, ctx) => ctx.loaders.syndrome.load(reference.code),
  relatedConstitutions: (s, _args, ctx) => ctx.loaders.constitutionsOfSyndrome.load(s.code),
};

const Article: ArticleResolvers = {
  __resolveReference: (reference, ctx) => ctx.loaders.article.load(reference.id),
  relatedConstitutions: (a, _args, ctx) => ctx.loaders.constitutionsOfArticle.load(a.id),
};

export const entityResolvers = { Constitution, Herb, Acupoint, Syndrome, Article };

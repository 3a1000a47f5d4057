import { integer, pgSchema, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import type { ConstitutionCode, Flavour, Meridian, Nature } from '../content/types.js';
import type { KnowledgeKindName } from '../search/documents.js';

/**
 * The knowledge subgraph's own Postgres schema; no other subgraph reads it.
 * Mirrors migrations/ for the content sync, which writes every column listed
 * here. The generated columns of search_documents (`document`, `tsv`) are
 * left out: Postgres computes them.
 */
export const knowledgeSchema = pgSchema('knowledge');

export const constitutions = knowledgeSchema.table('constitutions', {
  code: text('code').primaryKey(),
  position: integer('position').notNull(),
  name: text('name').notNull(),
  shortName: text('short_name').notNull(),
  nameEn: text('name_en').notNull(),
  pinyin: text('pinyin').notNull(),
  summary: text('summary').notNull(),
  summaryEn: text('summary_en').notNull(),
  characteristics: text('characteristics').array().notNull(),
  susceptibilities: text('susceptibilities').array().notNull(),
  adviceDiet: text('advice_diet').notNull(),
  adviceExercise: text('advice_exercise').notNull(),
  adviceSleep: text('advice_sleep').notNull(),
  adviceEmotions: text('advice_emotions').notNull(),
  adviceSeasons: text('advice_seasons').notNull(),
});

export const herbs = knowledgeSchema.table('herbs', {
  id: text('id').primaryKey(),
  position: integer('position').notNull(),
  name: text('name').notNull(),
  pinyin: text('pinyin').notNull(),
  nameEn: text('name_en').notNull(),
  latinName: text('latin_name').notNull(),
  category: text('category').notNull(),
  nature: text('nature').notNull().$type<Nature>(),
  flavours: text('flavours').array().notNull().$type<Flavour[]>(),
  meridians: text('meridians').array().notNull().$type<Meridian[]>(),
  actions: text('actions').array().notNull(),
  actionsEn: text('actions_en').notNull(),
  cautions: text('cautions').array().notNull(),
});

export const acupoints = knowledgeSchema.table('acupoints', {
  code: text('code').primaryKey(),
  position: integer('position').notNull(),
  name: text('name').notNull(),
  pinyin: text('pinyin').notNull(),
  nameEn: text('name_en').notNull(),
  meridian: text('meridian').notNull().$type<Meridian>(),
  location: text('location').notNull(),
  indications: text('indications').array().notNull(),
  selfCare: text('self_care').notNull(),
  summaryEn: text('summary_en').notNull(),
});

export const syndromes = knowledgeSchema.table('syndromes', {
  code: text('code').primaryKey(),
  position: integer('position').notNull(),
  name: text('name').notNull(),
  pinyin: text('pinyin').notNull(),
  nameEn: text('name_en').notNull(),
  category: text('category').notNull(),
  keySigns: text('key_signs').array().notNull(),
  tongue: text('tongue').notNull(),
  pulse: text('pulse').notNull(),
  treatmentPrinciple: text('treatment_principle').notNull(),
  summaryEn: text('summary_en').notNull(),
});

export const articles = knowledgeSchema.table('articles', {
  id: text('id').primaryKey(),
  title: text('title').notNull(),
  titleEn: text('title_en').notNull(),
  summary: text('summary').notNull(),
  body: text('body').notNull(),
  tags: text('tags').array().notNull(),
  authorAgentId: text('author_agent_id').notNull(),
  publishedAt: timestamp('published_at', { withTimezone: true, mode: 'string' }).notNull(),
});

export const foods = knowledgeSchema.table('foods', {
  id: text('id').primaryKey(),
  position: integer('position').notNull(),
  name: text('name').notNull(),
  nameEn: text('name_en').notNull(),
  nature: text('nature').notNull().$type<Nature>(),
});

export const constitutionHerbs = knowledgeSchema.table(
  'constitution_herbs',
  { constitutionCode: text('constitution_code').notNull(), herbId: text('herb_id').notNull(), position: integer('position').notNull() },
  (t) => [primaryKey({ columns: [t.constitutionCode, t.herbId] })],
);

export const constitutionFoods = knowledgeSchema.table(
  'constitution_foods',
  { constitutionCode: text('constitution_code').notNull(), foodId: text('food_id').notNull(), position: integer('position').notNull() },
  (t) => [primaryKey({ columns: [t.constitutionCode, t.foodId] })],
);

export const constitutionAcupoints = knowledgeSchema.table(
  'constitution_acupoints',
  { constitutionCode: text('constitution_code').notNull(), acupointCode: text('acupoint_code').notNull(), position: integer('position').notNull() },
  (t) => [primaryKey({ columns: [t.constitutionCode, t.acupointCode] })],
);

export const syndromeConstitutions = knowledgeSchema.table(
  'syndrome_constitutions',
  { syndromeCode: text('syndrome_code').notNull(), constitutionCode: text('constitution_code').notNull(), position: integer('position').notNull() },
  (t) => [primaryKey({ columns: [t.syndromeCode, t.constitutionCode] })],
);

export const articleConstitutions = knowledgeSchema.table(
  'article_constitutions',
  { articleId: text('article_id').notNull(), constitutionCode: text('constitution_code').notNull(), position: integer('position').notNull() },
  (t) => [primaryKey({ columns: [t.articleId, t.constitutionCode] })],
);

export const searchDocuments = knowledgeSchema.table(
  'search_documents',
  {
    kind: text('kind').notNull().$type<KnowledgeKindName>(),
    key: text('key').notNull(),
    names: text('names').array().notNull(),
    namesText: text('names_text').notNull(),
    display: text('display').notNull(),
    normalised: text('normalised').notNull(),
    extra: text('extra').notNull(),
    mentions: text('mentions').array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.kind, t.key] })],
);

/*
 * What each GraphQL type resolves from: the row as the select lists in
 * queries.ts return it, tagged with its `__typename` so that the
 * `KnowledgeItem` union and `_entities` know the type without guessing.
 */

export interface ConstitutionRow {
  __typename: 'Constitution';
  code: ConstitutionCode;
  position: number;
  name: string;
  shortName: string;
  nameEn: string;
  pinyin: string;
  summary: string;
  summaryEn: string;
  characteristics: string[];
  susceptibilities: string[];
  adviceDiet: string;
  adviceExercise: string;
  adviceSleep: string;
  adviceEmotions: string;
  adviceSeasons: string;
}

export interface HerbRow {
  __typename: 'Herb';
  id: string;
  position: number;
  name: string;
  pinyin: string;
  nameEn: string;
  latinName: string;
  category: string;
  nature: Nature;
  flavours: Flavour[];
  meridians: Meridian[];
  actions: string[];
  actionsEn: string;
  cautions: string[];
}

export interface AcupointRow {
  __typename: 'Acupoint';
  code: string;
  position: number;
  name: string;
  pinyin: string;
  nameEn: string;
  meridian: Meridian;
  location: string;
  indications: string[];
  selfCare: string;
  summaryEn: string;
}

export interface SyndromeRow {
  __typename: 'Syndrome';
  code: string;
  position: number;
  name: string;
  pinyin: string;
  nameEn: string;
  category: string;
  keySigns: string[];
  tongue: string;
  pulse: string;
  treatmentPrinciple: string;
  summaryEn: string;
}

export interface ArticleRow {
  __typename: 'Article';
  id: string;
  title: string;
  titleEn: string;
  summary: string;
  body: string;
  tags: string[];
  authorAgentId: string;
  /** ISO 8601 in UTC with microseconds: exact for keyset cursors. */
  publishedAt: string;
}

export interface FoodRow {
  __typename: 'Food';
  id: string;
  position: number;
  name: string;
  nameEn: string;
  nature: Nature;
}

export type KnowledgeItemRow = ConstitutionRow | HerbRow | AcupointRow | SyndromeRow | ArticleRow;

/** What a `SearchHit` resolves from. */
export interface SearchHitRow {
  kind: KnowledgeKindName;
  score: number;
  snippet: string;
  item: KnowledgeItemRow;
}

/** A page of a root connection, with the count of every row the filter admits. */
export interface PageRows<R> {
  rows: R[];
  totalCount: number;
}

import { sql, type SQL } from 'drizzle-orm';
import { type Database, arrayParam, isoUtc } from '@suoke/platform';
import type { Meridian, Nature } from '../content/types.js';
import type { AcupointRow, ArticleRow, ConstitutionRow, FoodRow, HerbRow, PageRows, SyndromeRow } from './schema.js';

/**
 * The read statements behind the loaders and root fields. Each takes every
 * key of a batch and issues exactly one SQL statement. Rows are selected
 * through the column lists below (one per type, over a fixed alias) so that
 * loaders, pages and search return identical shapes.
 */

export const COLUMNS = {
  constitution: sql.raw(`'Constitution' as "__typename", c.code, c.position, c.name, c.short_name as "shortName", c.name_en as "nameEn",
    c.pinyin, c.summary, c.summary_en as "summaryEn", c.characteristics, c.susceptibilities, c.advice_diet as "adviceDiet",
    c.advice_exercise as "adviceExercise", c.advice_sleep as "adviceSleep", c.advice_emotions as "adviceEmotions",
    c.advice_seasons as "adviceSeasons"`),
  herb: sql.raw(`'Herb' as "__typename", h.id, h.position, h.name, h.pinyin, h.name_en as "nameEn", h.latin_name as "latinName",
    h.category, h.nature, h.flavours, h.meridians, h.actions, h.actions_en as "actionsEn", h.cautions`),
  acupoint: sql.raw(`'Acupoint' as "__typename", a.code, a.position, a.name, a.pinyin, a.name_en as "nameEn", a.meridian, a.location,
    a.indications, a.self_care as "selfCare", a.summary_en as "summaryEn"`),
  syndrome: sql.raw(`'Syndrome' as "__typename", s.code, s.position, s.name, s.pinyin, s.name_en as "nameEn", s.category,
    s.key_signs as "keySigns", s.tongue, s.pulse, s.treatment_principle as "treatmentPrinciple", s.summary_en as "summaryEn"`),
  article: sql`'Article' as "__typename", ar.id, ar.title, ar.title_en as "titleEn", ar.summary, ar.body, ar.tags,
    ar.author_agent_id as "authorAgentId", ${isoUtc(sql`ar.published_at`)} as "publishedAt"`,
  food: sql.raw(`'Food' as "__typename", f.id, f.position, f.name, f.name_en as "nameEn", f.nature`),
};

type Row = Record<string, unknown>;
const rows = <T>(database: Database, query: SQL) => database.rows<T & Row>(query) as Promise<T[]>;

// ── entities by key ───────────────────────────────────────────────────────

export const selectConstitutions = (database: Database, codes: readonly string[]) =>
  rows<ConstitutionRow>(database, sql`select ${COLUMNS.constitution} from "knowledge".constitutions c where c.code = any(${arrayParam(codes, 'text')})`);

export const selectAllConstitutions = (database: Database) =>
  rows<ConstitutionRow>(database, sql`select ${COLUMNS.constitution} from "knowledge".constitutions c order by c.position, c.code`);

export const selectHerbs = (database: Database, ids: readonly string[]) =>
  rows<HerbRow>(database, sql`select ${COLUMNS.herb} from "knowledge".herbs h where h.id = any(${arrayParam(ids, 'text')})`);

export const selectAcupoints = (database: Database, codes: readonly string[]) =>
  rows<AcupointRow>(database, sql`select ${COLUMNS.acupoint} from "knowledge".acupoints a where a.code = any(${arrayParam(codes, 'text')})`);

export const selectSyndromes = (database: Database, codes: readonly string[]) =>
  rows<SyndromeRow>(database, sql`select ${COLUMNS.syndrome} from "knowledge".syndromes s where s.code = any(${arrayParam(codes, 'text')})`);

export const selectArticles = (database: Database, ids: readonly string[]) =>
  rows<ArticleRow>(database, sql`select ${COLUMNS.article} from "knowledge".articles ar where ar.id = any(${arrayParam(ids, 'text')})`);

// ── per-parent lists: rows carry `parentKey`, in link order ──────────────────

export type Linked<R> = R & { parentKey: string };

export const selectHerbsOfConstitutions = (database: Database, codes: readonly string[]) =>
  rows<Linked<HerbRow>>(database, sql`
    select l.constitution_code as "parentKey", ${COLUMNS.herb}
    from "knowledge".constitution_herbs l join "knowledge".herbs h on h.id = l.herb_id
    where l.constitution_code = any(${arrayParam(codes, 'text')})
    order by l.constitution_code, l.position`);

export const selectFoodsOfConstitutions = (database: Database, codes: readonly string[]) =>
  rows<Linked<FoodRow>>(database, sql`
    select l.constitution_code as "parentKey", ${COLUMNS.food}
    from "knowledge".constitution_foods l join "knowledge".foods f on f.id = l.food_id
    where l.constitution_code = any(${arrayParam(codes, 'text')})
    order by l.constitution_code, l.position`);

export const selectAcupointsOfConstitutions = (database: Database, codes: readonly string[]) =>
  rows<Linked<AcupointRow>>(database, sql`
    select l.constitution_code as "parentKey", ${COLUMNS.acupoint}
    from "knowledge".constitution_acupoints l join "knowledge".acupoints a on a.code = l.acupoint_code
    where l.constitution_code = any(${arrayParam(codes, 'text')})
    order by l.constitution_code, l.position`);

/** The syndromes a constitution tends toward: syndrome_constitutions read from the constitution's side. */
export const selectSyndromesOfConstitutions = (database: Database, codes: readonly string[]) =>
  rows<Linked<SyndromeRow>>(database, sql`
    select l.constitution_code as "parentKey", ${COLUMNS.syndrome}
    from "knowledge".syndrome_constitutions l join "knowledge".syndromes s on s.code = l.syndrome_code
    where l.constitution_code = any(${arrayParam(codes, 'text')})
    order by l.constitution_code, s.position, s.code`);

export const selectConstitutionsOfSyndromes = (database: Database, codes: readonly string[]) =>
  rows<Linked<ConstitutionRow>>(database, sql`
    select l.syndrome_code as "parentKey", ${COLUMNS.constitution}
    from "knowledge".syndrome_constitutions l join "knowledge".constitutions c on c.code = l.constitution_code
    where l.syndrome_code = any(${arrayParam(codes, 'text')})
    order by l.syndrome_code, l.position`);

export const selectConstitutionsOfArticles = (database: Database, ids: readonly string[]) =>
  rows<Linked<ConstitutionRow>>(database, sql`
    select l.article_id as "parentKey", ${COLUMNS.constitution}
    from "knowledge".article_constitutions l join "knowledge".constitutions c on c.code = l.constitution_code
    where l.article_id = any(${arrayParam(ids, 'text')})
    order by l.article_id, l.position`);

// ── root connections ───────────────────────────────────────────────────────

/** A page request: `limit` is first + 1 (the extra row only tells that more follow). */
export interface PositionPage<F> {
  limit: number;
  after: { position: number; key: string } | null;
  filter: F;
}

/**
 * One statement per page: the count of every row the filter admits, left
 * joined to the page itself, so the count arrives even when the page is
 * empty (a row of nulls then, dropped here).
 */
async function page<R extends { __typename: string }>(database: Database, total: SQL, pageQuery: SQL): Promise<PageRows<R>> {
  const result = await rows<R & { totalCount: number }>(database, sql`
    select t.total::int as "totalCount", p.*
    from (${total}) t(total)
    left join lateral (${pageQuery}) p on true`);
  return {
    totalCount: result[0]?.totalCount ?? 0,
    // The count rode along on every row (an R and more): it leaves the page's rows, which are then R exactly.
    rows: result
      .filter((r) => r.__typename !== null)
      .map((row): R => {
        Reflect.deleteProperty(row, 'totalCount');
        return row;
      }),
  };
}

const afterPosition = (alias: string, key: string, after: PositionPage<unknown>['after']) =>
  after ? sql`(${sql.raw(`${alias}.position`)}, ${sql.raw(`${alias}.${key}`)}) > (${after.position}::int, ${after.key}::text)` : sql`true`;

export function selectHerbPage(database: Database, request: PositionPage<{ nature: Nature | null }>) {
  const where = request.filter.nature ? sql`h.nature = ${request.filter.nature}` : sql`true`;
  return page<HerbRow>(
    database,
    sql`select count(*) from "knowledge".herbs h where ${where}`,
    sql`select ${COLUMNS.herb} from "knowledge".herbs h where ${where} and ${afterPosition('h', 'id', request.after)}
        order by h.position, h.id limit ${request.limit}`,
  );
}

export function selectAcupointPage(database: Database, request: PositionPage<{ meridian: Meridian | null }>) {
  const where = request.filter.meridian ? sql`a.meridian = ${request.filter.meridian}` : sql`true`;
  return page<AcupointRow>(
    database,
    sql`select count(*) from "knowledge".acupoints a where ${where}`,
    sql`select ${COLUMNS.acupoint} from "knowledge".acupoints a where ${where} and ${afterPosition('a', 'code', request.after)}
        order by a.position, a.code limit ${request.limit}`,
  );
}

export function selectSyndromePage(database: Database, request: PositionPage<Record<string, never>>) {
  return page<SyndromeRow>(
    database,
    sql`select count(*) from "knowledge".syndromes s`,
    sql`select ${COLUMNS.syndrome} from "knowledge".syndromes s where ${afterPosition('s', 'code', request.after)}
        order by s.position, s.code limit ${request.limit}`,
  );
}

export interface ArticlePage {
  limit: number;
  /** Keyset position to continue after, newest first: (published_at, id) as decoded from a cursor. */
  after: { publishedAt: string; id: string } | null;
  tag: string | null;
}

export function selectArticlePage(database: Database, request: ArticlePage) {
  const where = request.tag === null ? sql`true` : sql`ar.tags @> array[${request.tag}::text]`;
  const after = request.after
    ? sql`(ar.published_at, ar.id) < (${request.after.publishedAt}::timestamptz, ${request.after.id}::text)`
    : sql`true`;
  return page<ArticleRow>(
    database,
    sql`select count(*) from "knowledge".articles ar where ${where}`,
    sql`select ${COLUMNS.article} from "knowledge".articles ar where ${where} and ${after}
        order by ar.published_at desc, ar.id desc limit ${request.limit}`,
  );
}

/** Row counts per table, for tests and the seed report. */
export async function countContent(database: Database): Promise<Record<string, number>> {
  const [counts] = await rows<Record<string, number>>(database, sql`
    select (select count(*) from "knowledge".constitutions)::int as constitutions,
           (select count(*) from "knowledge".herbs)::int as herbs,
           (select count(*) from "knowledge".acupoints)::int as acupoints,
           (select count(*) from "knowledge".syndromes)::int as syndromes,
           (select count(*) from "knowledge".articles)::int as articles,
           (select count(*) from "knowledge".foods)::int as foods,
           (select count(*) from "knowledge".search_documents)::int as "searchDocuments"`);
  return counts ?? {};
}

import { sql, type SQL } from 'drizzle-orm';
import { type Database, arrayParam } from '@suoke/platform';
import type { KnowledgeKindName } from '../search/documents.js';
import { RANKING as R } from '../search/ranking.js';
import { likeContains, type NormalisedQuery } from '../search/text.js';
import { COLUMNS } from './queries.js';
import type { SearchHitRow } from './schema.js';

export interface SearchRequest {
  query: NormalisedQuery;
  /** null: every kind. */
  kinds: KnowledgeKindName[] | null;
  limit: number;
}

/** Ties of equal score are listed in this order of kinds, then by key. */
const KIND_ORDER: KnowledgeKindName[] = ['CONSTITUTION', 'SYNDROME', 'HERB', 'ACUPOINT', 'ARTICLE'];

/** A constant of the ranking, inlined as a typed literal (never user input). */
const k = (value: number): SQL => sql.raw(`${value}::float8`);
const n = (value: number): SQL => sql.raw(String(Math.trunc(value)));

/**
 * The whole search in one statement: candidate documents (every term
 * contained, a full-text match, or a fuzzy name match), their score and
 * snippet, and each hit's item as the same columns a loader returns.
 * Tiers and weights are documented in search/ranking.ts.
 */
export async function searchKnowledge(database: Database, request: SearchRequest): Promise<SearchHitRow[]> {
  const { query, kinds, limit } = request;
  // A candidate contains the query (spaced or not) or one of its terms, or the query names it; each a
  // separate LIKE so that each can use the trigram index. Short ASCII terms of
  // a longer query (`qi`, `is`) occur inside too many words to admit alone.
  const admitting = query.terms.length > 1 ? query.terms.filter((term) => /[^\x00-\x7f]/.test(term) || term.length >= 3) : [];
  const contains = sql.join(
    [...new Set([query.text, query.compact, ...admitting])].map((term) => sql`d.document like ${likeContains(term)}`),
    sql` or `,
  );
  const kindFilter = kinds === null ? sql`true` : sql`d.kind = any(${arrayParam(kinds, 'text')})`;
  const fuzzyAllowed = sql.raw(String(query.text.length >= R.fuzzy.minQueryLength));
  const fuzzyMatch = sql`(${fuzzyAllowed} and i.q operator(public.<%) d.names_text)`;
  // A question holding an item's name among other words ("黄芪有什么功效", "huangqi you shenme gongxiao").
  const mentioned = sql`exists (select 1 from unnest(d.mentions) m where strpos(i.qm, m) > 0)`;
  const window = R.snippet.before + R.snippet.after;

  const found = await database.rows<{ kind: KnowledgeKindName; score: number; snippet: string; item: unknown }>(sql`
    with input as (
      select ${query.text}::text as q, ${query.compact}::text as qc, ${query.mentions}::text as qm, ${arrayParam(query.terms, 'text')} as terms,
             case when ${query.tsquery}::text is null then null else to_tsquery('simple', ${query.tsquery}::text) end as tsq
    ), candidates as (
      select d.kind, d.key, d.display, d.normalised, d.names, d.names_text, d.document, d.tsv, d.mentions
      from "knowledge".search_documents d cross join input i
      where ${kindFilter} and ((${contains}) or coalesce(d.tsv @@ i.tsq, false) or ${fuzzyMatch} or ${mentioned})
    ), matched as (
      select c.kind, c.key, c.display,
        (i.q = any(c.names) or i.qc = any(c.names)) as exact,
        exists (select 1 from unnest(c.names) nm where starts_with(nm, i.q) or starts_with(nm, i.qc)) as prefix,
        (strpos(c.names_text, i.q) > 0 or strpos(c.names_text, i.qc) > 0) as in_name,
        (strpos(c.document, i.q) > 0 or strpos(c.document, i.qc) > 0) as phrase,
        coalesce(c.tsv @@ i.tsq, false) as fts,
        (select count(*) from unnest(i.terms) t where strpos(c.document, t) > 0)::float8 / cardinality(i.terms) as in_text,
        (select count(*) from unnest(i.terms) t where strpos(c.names_text, t) > 0)::float8 / cardinality(i.terms) as in_names,
        coalesce(ts_rank(c.tsv, i.tsq, 32), 0)::float8 as rank,
        public.word_similarity(i.q, c.names_text)::float8 as fuzzy,
        (${fuzzyAllowed} and public.word_similarity(i.q, c.names_text) >= ${k(R.fuzzy.threshold)}) as fuzzy_hit,
        (select coalesce(max(public.similarity(i.q, nm)), 0) from unnest(c.names) nm)::float8 as name_similarity,
        (select coalesce(max(char_length(m)), 0) from unnest(c.mentions) m where strpos(i.qm, m) > 0)::float8 / char_length(i.qm) as mention,
        (select strpos(c.normalised, btrim(m)) from unnest(c.mentions) m where strpos(i.qm, m) > 0 order by char_length(m) desc limit 1) as mention_pos,
        coalesce(
          nullif(strpos(c.normalised, i.q), 0),
          nullif(strpos(c.normalised, i.qc), 0),
          (select min(nullif(strpos(c.normalised, t), 0)) from unnest(i.terms) t),
          0
        ) as pos
      from candidates c cross join input i
    ), scored as (
      select m.kind, m.key, m.display,
        case when m.exact or m.prefix or m.in_name or m.phrase or m.fts or m.in_text = 1 or m.mention = 0 then m.pos
          else coalesce(nullif(m.mention_pos, 0), m.pos) end as pos,
        (case
          when m.exact then ${k(R.exact)}
          when m.prefix then ${k(R.prefix)}
          when m.in_name then ${k(R.inName)}
          when m.phrase then ${k(R.phrase)}
          when m.fts then ${k(R.fullText)}
          when m.in_text = 1 then ${k(R.allTerms)}
          when m.mention > 0 then ${k(R.mentions)}
          when m.fuzzy_hit then ${k(R.fuzzy.base)} + ${k(R.fuzzy.weight)} * m.fuzzy
          else ${k(R.someTerms)}
        end)
        + ${k(R.refinement)} * (case
          when m.exact or m.prefix or m.in_name then m.name_similarity
          when m.fts and not m.phrase then m.rank
          when m.in_text = 1 then 1 - least(greatest(m.pos, 1), ${n(R.positionHorizon)}) / ${k(R.positionHorizon)}
          when m.mention > 0 then m.mention
          when m.fuzzy_hit then 0
          else (m.in_text + m.in_names) / 2
        end) as score,
        array_position(${arrayParam(KIND_ORDER, 'text')}, m.kind) as kind_order
      from matched m
      order by score desc, kind_order, m.key
      limit ${limit}
    )
    select hit.kind, round(hit.score::numeric, 4)::float8 as score,
      case
        when hit.pos = 0 then left(hit.display, ${n(window)}) || case when char_length(hit.display) > ${n(window)} then '…' else '' end
        else case when hit.pos > ${n(R.snippet.before + 1)} then '…' else '' end
          || substr(hit.display, greatest(1, hit.pos - ${n(R.snippet.before)}), least(hit.pos - 1, ${n(R.snippet.before)}) + ${n(R.snippet.after)})
          || case when hit.pos + ${n(R.snippet.after)} <= char_length(hit.display) then '…' else '' end
      end as snippet,
      case hit.kind
        when 'CONSTITUTION' then (select to_jsonb(x) from (select ${COLUMNS.constitution} from "knowledge".constitutions c where c.code = hit.key) x)
        when 'HERB' then (select to_jsonb(x) from (select ${COLUMNS.herb} from "knowledge".herbs h where h.id = hit.key) x)
        when 'ACUPOINT' then (select to_jsonb(x) from (select ${COLUMNS.acupoint} from "knowledge".acupoints a where a.code = hit.key) x)
        when 'SYNDROME' then (select to_jsonb(x) from (select ${COLUMNS.syndrome} from "knowledge".syndromes s where s.code = hit.key) x)
        when 'ARTICLE' then (select to_jsonb(x) from (select ${COLUMNS.article} from "knowledge".articles ar where ar.id = hit.key) x)
      end as item
    from scored hit
    order by hit.score desc, hit.kind_order, hit.key`);
  return found.map((row) => ({ kind: row.kind, score: row.score, snippet: row.snippet, item: parseJson(row.item) as SearchHitRow['item'] }));
}

/** postgres.js and PGlite both parse jsonb; a driver configured otherwise would hand back text. */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

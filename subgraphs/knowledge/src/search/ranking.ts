/**
 * How search ranks a hit. Every candidate falls into the first tier it
 * satisfies; its score is that tier's base plus up to `refinement` within the
 * tier, so a hit of a higher tier always outranks one of a lower tier:
 *
 * | tier | the folded query (or the query without spaces)…  | base |
 * |------|---------------------------------------------------|------|
 * | exact     | equals one of the item's names               | 1.00 |
 * | prefix    | begins one of its names                      | 0.90 |
 * | inName    | occurs inside one of its names               | 0.80 |
 * | phrase    | occurs anywhere in its text                  | 0.60 |
 * | fullText  | matches its words (full-text, last word as a prefix) | 0.50 |
 * | allTerms  | each space-separated term occurs in its text | 0.40 |
 * | mentions  | contains one of its names (a question: "黄芪有什么功效") | 0.30 |
 * | fuzzy     | is close to a name by trigram word similarity (typos) | 0.20 + 0.09 × similarity |
 * | someTerms | (several terms) some of them occur in its text | 0.10 |
 *
 * Names are the Chinese name and aliases, pinyin with and without spaces (and
 * ü as v), the English and Latin names and the code. Within a tier: name tiers
 * prefer the name most similar to the query (trigram similarity, so shorter
 * names win), full-text prefers ts_rank, someTerms prefers more of the terms
 * matched (half the weight for terms in the text, half for terms in a name),
 * mentions prefers the longest name the query holds (its share of the query),
 * the rest prefer an earlier match.
 * Equal scores are listed constitution, syndrome, herb, acupoint, article.
 */
export const RANKING = {
  exact: 1.0,
  prefix: 0.9,
  inName: 0.8,
  phrase: 0.6,
  fullText: 0.5,
  allTerms: 0.4,
  /**
   * Below every tier that finds the query in the item, so that a query naming several items (`气虚 黄芪`) still
   * lists first what holds them all; above typos and scattered words. Names in mention form (search/text.ts):
   * a Latin-script name only as whole words, Chinese names of two characters or more.
   */
  mentions: 0.3,
  fuzzy: {
    base: 0.2,
    /** Under the gap to `mentions`, so a perfect trigram match stays below a name the query holds. */
    weight: 0.09,
    /** pg_trgm's default word_similarity_threshold, which the `<%` operator applies. */
    threshold: 0.6,
    /** Shorter queries match too much by trigrams to be worth it. */
    minQueryLength: 4,
  },
  someTerms: 0.1,
  /** Never more than the gap between two tiers. */
  refinement: 0.09,
  /** Matches this many characters or more into the text all count as late. */
  positionHorizon: 400,
  /** Characters of context a snippet keeps before and after the match position. */
  snippet: { before: 24, after: 72 },
} as const;

/**
 * Text folding shared by the search documents (written at migrate time) and
 * the queries (folded per request), so both sides compare the same forms:
 * lower case, pinyin tone marks removed, ü as u (and, as an extra spelling, v).
 */

/**
 * Folds one character to exactly one character: lower case without diacritics
 * (`Á` → `a`, `ǚ` → `u`), anything else unchanged. One-to-one, so a position
 * found in folded text is the same position in the original.
 */
export function foldChar(ch: string): string {
  const lower = ch.toLowerCase();
  if ([...lower].length !== 1) return ch;
  const base = lower.normalize('NFD').replace(/\p{M}/gu, '');
  return [...base].length === 1 ? base : lower;
}

/** Folds text character by character; the result has as many code points as the input. */
export function foldAligned(text: string): string {
  let out = '';
  for (const ch of text) out += foldChar(ch);
  return out;
}

/** `nǚ zhēn zǐ` → `nv zhen zi`: the spelling of ü on keyboards without it. */
export function pinyinWithV(pinyin: string): string {
  return foldAligned(pinyin.replace(/[üǖǘǚǜ]/g, 'v').replace(/[ÜǕǗǙǛ]/g, 'V'));
}

/** A herb id: its pinyin without tones or spaces, ü written v (`nǚ zhēn zǐ` → `nvzhenzi`). */
export function pinyinSlug(pinyin: string): string {
  return pinyinWithV(pinyin).replace(/[^a-z]/g, '');
}

/**
 * Text as containment of names is checked in: folded, anything but letters and digits a space, spaces collapsed.
 * `Yang-deficient constitution?` → `yang deficient constitution`.
 */
export function mentionForm(text: string): string {
  return foldAligned(text.normalize('NFKC')).replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

export interface NormalisedQuery {
  /** Folded, whitespace collapsed: `huang qi`. */
  text: string;
  /** Without spaces: `huangqi`, so spaced and unspaced pinyin meet. */
  compact: string;
  /** Whitespace-separated terms, each of which a match must contain. */
  terms: string[];
  /** ASCII words for full-text search, the last one as a prefix (`huang & qi:*`); null when there are none. */
  tsquery: string | null;
  /** The query in mention form padded with spaces (` huangqi you shenme gongxiao `), for names it contains. */
  mentions: string;
}

/**
 * Normalises a search query: NFKC first (full-width letters and digits typed
 * with a Chinese IME become ASCII), then the same folding as the documents.
 * The tsquery holds only [a-z0-9] words joined by `&`, so no user text
 * reaches the tsquery parser as syntax.
 */
export function normaliseQuery(raw: string): NormalisedQuery {
  const text = foldAligned(raw.normalize('NFKC')).replace(/\s+/g, ' ').trim();
  const terms = [...new Set(text.split(' ').filter(Boolean))];
  const words = [...new Set(text.match(/[a-z0-9]+/g) ?? [])];
  const tsquery = words.length === 0 ? null : words.map((w, i) => (i === words.length - 1 ? `${w}:*` : w)).join(' & ');
  return { text, compact: text.replace(/ /g, ''), terms, tsquery, mentions: ` ${mentionForm(raw)} ` };
}

/** Escapes LIKE wildcards so a query is matched literally (backslash is the default escape). */
export function likeContains(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

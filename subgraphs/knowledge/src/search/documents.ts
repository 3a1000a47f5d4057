import { SEARCH_ALIASES } from '../content/aliases.js';
import { FLAVOUR_ZH, MERIDIAN_ZH, NATURE_ZH, type Content } from '../content/index.js';
import { foldAligned, mentionForm, pinyinWithV } from './text.js';

export type KnowledgeKindName = 'CONSTITUTION' | 'HERB' | 'ACUPOINT' | 'SYNDROME' | 'ARTICLE';

/** One row of knowledge.search_documents (its generated columns aside). */
export interface SearchDocument {
  kind: KnowledgeKindName;
  key: string;
  names: string[];
  namesText: string;
  display: string;
  normalised: string;
  extra: string;
  /** The spellings a question may mention the item by, in mention form (see `mentionsOf`). */
  mentions: string[];
}

const SEPARATOR = ' · ';

/**
 * The search document of every item. `display` is what a snippet shows, made
 * of the item's own fields; `names` are the folded spellings an exact hit
 * compares with. Built from the content modules at migrate time, never per query.
 */
export function buildSearchDocuments(content: Content): SearchDocument[] {
  const docs: SearchDocument[] = [];
  for (const c of content.constitutions) {
    docs.push(
      document('CONSTITUTION', c.code, {
        names: [c.name, c.shortName, ...pinyinNames(c.pinyin), ...pinyinNames(withoutLastSyllable(c.pinyin)), ...englishNames(c.nameEn, ' constitution'), c.code],
        display: [
          `${c.name}（${c.shortName}） ${c.pinyin}`,
          c.nameEn,
          c.summary,
          c.summaryEn,
          `特征：${c.characteristics.join('；')}`,
          `易患：${c.susceptibilities.join('；')}`,
          `饮食：${c.advice.diet}`,
        ],
      }),
    );
  }
  for (const h of content.herbs) {
    const aliases = h.aliases ?? [];
    docs.push(
      document('HERB', h.id, {
        names: [h.name, ...aliases, ...pinyinNames(h.pinyin), ...englishNames(h.nameEn, HERB_PART), h.latinName, h.id],
        display: [
          `${h.name} ${h.pinyin}${aliases.length > 0 ? `（又名${aliases.join('、')}）` : ''}`,
          h.nameEn,
          h.latinName,
          h.category,
          `性${NATURE_ZH[h.nature]}，味${h.flavours.map((f) => FLAVOUR_ZH[f]).join('、')}，归${h.meridians.map((m) => MERIDIAN_ZH[m]).join('、')}经`,
          `功效：${h.actions.join('，')}`,
          h.actionsEn,
          `注意：${h.cautions.join('；')}`,
        ],
        extra: [h.nature, ...h.flavours, ...h.meridians].join(' '),
      }),
    );
  }
  for (const a of content.acupoints) {
    docs.push(
      document('ACUPOINT', a.code, {
        names: [a.name, ...pinyinNames(a.pinyin), a.nameEn, a.code],
        display: [`${a.name} ${a.code} ${a.pinyin}`, a.nameEn, `${MERIDIAN_ZH[a.meridian]}经`, `定位：${a.location}`, `主治：${a.indications.join('，')}`, a.summaryEn],
        extra: a.meridian,
      }),
    );
  }
  for (const s of content.syndromes) {
    docs.push(
      document('SYNDROME', s.code, {
        names: [s.name, s.name.replace(/证$/, ''), ...pinyinNames(s.pinyin), ...pinyinNames(withoutLastSyllable(s.pinyin)), s.nameEn, s.code],
        display: [
          `${s.name} ${s.pinyin}`,
          s.nameEn,
          s.category,
          `主症：${s.keySigns.join('，')}`,
          `舌象：${s.tongue}`,
          `脉象：${s.pulse}`,
          `治法：${s.treatmentPrinciple}`,
          s.summaryEn,
        ],
      }),
    );
  }
  for (const a of content.articles) {
    docs.push(
      document('ARTICLE', a.id, {
        names: [a.title, a.titleEn],
        display: [a.title, a.titleEn, a.summary, `标签：${a.tags.join('、')}`, plainText(a.body)],
        extra: a.tags.join(' '),
      }),
    );
  }
  return docs;
}

/** `huáng qí` → `huang qi`, `huangqi`, and for ü the v spellings (`nv zhen zi`, `nvzhenzi`). */
function pinyinNames(pinyin: string): string[] {
  const folded = foldAligned(pinyin);
  const v = pinyinWithV(pinyin);
  return [folded, folded.replace(/ /g, ''), v, v.replace(/ /g, '')];
}

/** What follows an English herb name's plant (`Astragalus root` → `astragalus`). */
const HERB_PART = / (root|rhizome|seed|fruit|bark|flower|tuber|stem|bulb|leaf|berry|bud|aril|peel)$/i;

/** `Yang-deficient constitution` → itself, `yang-deficient`, `yang deficient` and `yang deficiency`: how people write it. */
function englishNames(nameEn: string, suffix: string | RegExp): string[] {
  const bare = nameEn.replace(typeof suffix === 'string' ? new RegExp(`${suffix}$`, 'i') : suffix, '');
  const names = [nameEn, bare, bare.replace(/-/g, ' ')];
  if (/-deficient$/i.test(bare)) names.push(bare.replace(/-deficient$/i, ' deficiency'));
  return names;
}

/** `yáng xū zhì` → `yáng xū`: a constitution without 质, a syndrome without 证. */
function withoutLastSyllable(pinyin: string): string {
  return pinyin.split(' ').slice(0, -1).join(' ');
}

/**
 * The names a question can be searched for by containment ("huangqi you shenme gongxiao" mentions `huangqi`):
 * in mention form, words (spellings with a Latin letter or digit) padded with spaces so that they only match whole
 * words. Too short to be specific is left out: one Chinese character, or fewer than four letters unless it is a code.
 */
export function mentionsOf(names: readonly string[]): string[] {
  const out = new Set<string>();
  for (const name of names) {
    const form = mentionForm(name).trim();
    if (!form) continue;
    if (/[a-z0-9]/.test(form)) {
      const letters = form.replace(/ /g, '').length;
      if (letters >= 4 || (letters >= 3 && /\d/.test(form))) out.add(` ${form} `);
    } else if ([...form.replace(/ /g, '')].length >= 2) {
      out.add(form);
    }
  }
  return [...out];
}

function document(kind: KnowledgeKindName, key: string, parts: { names: string[]; display: string[]; extra?: string }): SearchDocument {
  const all = [...parts.names, ...(SEARCH_ALIASES[`${kind}:${key}`] ?? [])];
  const names = [...new Set(all.map((n) => foldAligned(n).replace(/\s+/g, ' ').trim()).filter(Boolean))];
  const display = parts.display.join(SEPARATOR).replace(/\s+/g, ' ').trim();
  return {
    kind,
    key,
    names,
    namesText: names.join(' '),
    display,
    normalised: foldAligned(display),
    extra: foldAligned(parts.extra ?? '').replace(/_/g, ' '),
    mentions: mentionsOf(names),
  };
}

/** Markdown to one line of readable text for snippets: markup, table rules and line breaks removed. */
export function plainText(markdown: string): string {
  return markdown
    .replace(/^\s*\|?\s*-{3,}.*$/gm, ' ')
    .replace(/^\s*#{1,6}\s+/gm, '')
    .replace(/^\s*>\s?/gm, '')
    .replace(/^\s*(?:[-*+]|\d+\.)\s+/gm, '')
    .replace(/\*\*|__|`/g, '')
    .replace(/\s*\|\s*/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

import { FLAVOUR_ZH, MERIDIAN_ZH, NATURE_ZH, type Content } from '../content/index.js';
import { foldAligned, pinyinWithV } from './text.js';

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
        names: [c.name, c.shortName, ...pinyinNames(c.pinyin), c.nameEn, c.code],
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
        names: [h.name, ...aliases, ...pinyinNames(h.pinyin), h.nameEn, h.latinName, h.id],
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
        names: [s.name, s.name.replace(/证$/, ''), ...pinyinNames(s.pinyin), s.nameEn, s.code],
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

function document(kind: KnowledgeKindName, key: string, parts: { names: string[]; display: string[]; extra?: string }): SearchDocument {
  const names = [...new Set(parts.names.map((n) => foldAligned(n).replace(/\s+/g, ' ').trim()).filter(Boolean))];
  const display = parts.display.join(SEPARATOR).replace(/\s+/g, ' ').trim();
  return {
    kind,
    key,
    names,
    namesText: names.join(' '),
    display,
    normalised: foldAligned(display),
    extra: foldAligned(parts.extra ?? '').replace(/_/g, ' '),
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

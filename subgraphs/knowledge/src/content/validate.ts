import { pinyinSlug } from '../search/text.js';
import { CONSTITUTION_CODES, MERIDIAN_PREFIX, type ConstitutionCode } from './types.js';
import type { Content } from './index.js';

/** What the product promises to ship; validation fails below these. */
export const MINIMUM_COUNTS = { constitutions: 9, herbs: 40, acupoints: 30, syndromes: 15, articles: 10 } as const;

const TONED = /[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Every problem with the content, so a bad edit is reported whole before
 * anything is written: duplicate keys, dangling links, ids that disagree with
 * their pinyin, acupoint codes that disagree with their channel, empty text.
 */
export function validateContent(content: Content): string[] {
  const problems: string[] = [];
  const keys = (kind: string, list: string[]) => {
    const seen = new Set<string>();
    for (const key of list) {
      if (seen.has(key)) problems.push(`${kind} ${key}: duplicate key`);
      seen.add(key);
    }
    return seen;
  };
  const constitutionCodes = keys('constitution', content.constitutions.map((c) => c.code));
  const herbIds = keys('herb', content.herbs.map((h) => h.id));
  const acupointCodes = keys('acupoint', content.acupoints.map((a) => a.code));
  keys('syndrome', content.syndromes.map((s) => s.code));
  keys('article', content.articles.map((a) => a.id));
  const foodIds = keys('food', content.foods.map((f) => f.id));

  for (const [kind, minimum] of Object.entries(MINIMUM_COUNTS)) {
    const count = content[kind as keyof typeof MINIMUM_COUNTS].length;
    if (count < minimum) problems.push(`${kind}: at least ${minimum} required; found ${count}`);
  }
  const missing = CONSTITUTION_CODES.filter((code) => !constitutionCodes.has(code));
  if (missing.length > 0) problems.push(`constitutions: missing ${missing.join(', ')}`);

  const links = (owner: string, kind: string, list: readonly string[], known: Set<string>) => {
    if (new Set(list).size !== list.length) problems.push(`${owner}: ${kind} listed twice`);
    for (const key of list) if (!known.has(key)) problems.push(`${owner}: unknown ${kind} ${key}`);
  };
  const knownCodes = new Set<string>(CONSTITUTION_CODES);
  for (const c of content.constitutions) {
    links(`constitution ${c.code}`, 'herb', c.herbs, herbIds);
    links(`constitution ${c.code}`, 'food', c.foods, foodIds);
    links(`constitution ${c.code}`, 'acupoint', c.acupoints, acupointCodes);
    if (c.name !== `${c.shortName}质`) problems.push(`constitution ${c.code}: name must be shortName + 质`);
    checkText(`constitution ${c.code}`, [c.name, c.nameEn, c.summary, c.summaryEn, ...c.characteristics, ...c.susceptibilities, ...Object.values(c.advice)], problems);
    checkPinyin(`constitution ${c.code}`, c.pinyin, problems);
  }
  for (const h of content.herbs) {
    if (pinyinSlug(h.pinyin) !== h.id) problems.push(`herb ${h.id}: id must be its pinyin without tones or spaces (${pinyinSlug(h.pinyin)})`);
    if (h.flavours.length === 0 || h.meridians.length === 0 || h.actions.length === 0) problems.push(`herb ${h.id}: flavours, meridians and actions are required`);
    checkText(`herb ${h.id}`, [h.name, h.nameEn, h.latinName, h.category, h.actionsEn, ...h.actions, ...h.cautions], problems);
    checkPinyin(`herb ${h.id}`, h.pinyin, problems);
  }
  for (const a of content.acupoints) {
    if (!/^[A-Z]{2}\d{1,2}$/.test(a.code) || !a.code.startsWith(MERIDIAN_PREFIX[a.meridian])) {
      problems.push(`acupoint ${a.code}: code must be ${MERIDIAN_PREFIX[a.meridian]} + number for ${a.meridian}`);
    }
    checkText(`acupoint ${a.code}`, [a.name, a.nameEn, a.location, a.selfCare, a.summaryEn, ...a.indications], problems);
    checkPinyin(`acupoint ${a.code}`, a.pinyin, problems);
  }
  for (const s of content.syndromes) {
    links(`syndrome ${s.code}`, 'constitution', s.constitutions, knownCodes);
    if (s.constitutions.length === 0) problems.push(`syndrome ${s.code}: at least one related constitution is required`);
    checkText(`syndrome ${s.code}`, [s.name, s.nameEn, s.category, s.tongue, s.pulse, s.treatmentPrinciple, s.summaryEn, ...s.keySigns], problems);
    checkPinyin(`syndrome ${s.code}`, s.pinyin, problems);
  }
  for (const a of content.articles) {
    links(`article ${a.id}`, 'constitution', a.constitutions as ConstitutionCode[], knownCodes);
    if (!ISO_DATE.test(a.publishedOn) || Number.isNaN(Date.parse(`${a.publishedOn}T00:00:00Z`))) problems.push(`article ${a.id}: publishedOn must be YYYY-MM-DD`);
    if (a.tags.length === 0) problems.push(`article ${a.id}: at least one tag is required`);
    checkText(`article ${a.id}`, [a.title, a.titleEn, a.summary, a.body, ...a.tags], problems);
  }
  return problems;
}

function checkText(owner: string, texts: string[], problems: string[]): void {
  if (texts.some((t) => t.trim() === '')) problems.push(`${owner}: empty text`);
}

function checkPinyin(owner: string, pinyin: string, problems: string[]): void {
  if (!TONED.test(pinyin) || pinyin !== pinyin.trim() || /\s{2,}/.test(pinyin)) {
    problems.push(`${owner}: pinyin must carry tone marks and single spaces; received ${JSON.stringify(pinyin)}`);
  }
}

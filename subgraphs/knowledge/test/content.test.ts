import { readFileSync } from 'node:fs';
import { parse, visit } from 'graphql';
import { describe, expect, it } from 'vitest';
import { CONSTITUTION_CODES, content, MINIMUM_COUNTS, validateContent, type Content } from '../src/content/index.js';
import { buildSearchDocuments, plainText } from '../src/search/documents.js';
import { foldAligned, likeContains, normaliseQuery, pinyinSlug } from '../src/search/text.js';

const copy = (): Content => structuredClone(content);

describe('content', () => {
  it('is valid and at least as large as promised', () => {
    expect(validateContent(content)).toEqual([]);
    expect(content.constitutions.map((c) => c.code)).toEqual([...CONSTITUTION_CODES]);
    for (const [kind, minimum] of Object.entries(MINIMUM_COUNTS)) {
      expect(content[kind as keyof typeof MINIMUM_COUNTS].length, kind).toBeGreaterThanOrEqual(minimum);
    }
  });

  it('names each constitution as the other subgraphs expect', () => {
    const names = Object.fromEntries(content.constitutions.map((c) => [c.code, c.shortName]));
    expect(names).toEqual({
      BALANCED: '平和', QI_DEFICIENT: '气虚', YANG_DEFICIENT: '阳虚', YIN_DEFICIENT: '阴虚', PHLEGM_DAMP: '痰湿',
      DAMP_HEAT: '湿热', BLOOD_STASIS: '血瘀', QI_STAGNATION: '气郁', INHERITED_SPECIAL: '特禀',
    });
  });

  it('keeps every syndrome code the diagnosis subgraph may refer to', () => {
    // Diagnosis suggests syndromes by these codes (its service/syndromes.ts); a missing one would resolve to null.
    const referenced = [
      'SPLEEN_QI_DEFICIENCY', 'LUNG_QI_DEFICIENCY', 'HEART_QI_DEFICIENCY', 'SPLEEN_YANG_DEFICIENCY', 'KIDNEY_YANG_DEFICIENCY',
      'KIDNEY_YIN_DEFICIENCY', 'LUNG_YIN_DEFICIENCY', 'HEART_BLOOD_DEFICIENCY', 'LIVER_QI_STAGNATION', 'LIVER_FIRE_BLAZING',
      'PHLEGM_DAMP_OBSTRUCTION', 'SPLEEN_STOMACH_DAMP_HEAT', 'LIVER_GALLBLADDER_DAMP_HEAT', 'LUNG_PHLEGM_HEAT', 'HEART_BLOOD_STASIS',
      'QI_STAGNATION_BLOOD_STASIS', 'FOOD_STAGNATION', 'DEFENSIVE_QI_INSECURITY',
    ];
    const codes = new Set(content.syndromes.map((s) => s.code));
    expect(referenced.filter((code) => !codes.has(code))).toEqual([]);
  });

  it('reports every problem at once: duplicates, dangling links, ids that disagree with pinyin, wrong codes', () => {
    const broken = copy();
    broken.herbs.push({ ...broken.herbs[0]! });
    broken.constitutions[1]!.herbs.push('nosuchherb');
    broken.constitutions[2]!.acupoints.push('ST99');
    broken.herbs[1]!.id = 'ginseng';
    broken.acupoints[0]!.code = 'ST7';
    broken.syndromes[0]!.constitutions = [];
    broken.articles[0]!.publishedOn = '2025-13-45';
    broken.constitutions.pop();
    const problems = validateContent(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        'herb huangqi: duplicate key',
        'constitution QI_DEFICIENT: unknown herb nosuchherb',
        'constitution YANG_DEFICIENT: unknown acupoint ST99',
        'herb ginseng: id must be its pinyin without tones or spaces (renshen)',
        'acupoint ST7: code must be LU + number for LUNG',
        'syndrome QI_DEFICIENCY: at least one related constitution is required',
        'article nine-constitutions: publishedOn must be YYYY-MM-DD',
        'constitutions: at least 9 required; found 8',
        'constitutions: missing INHERITED_SPECIAL',
      ]),
    );
  });

  it('refuses pinyin without tone marks', () => {
    const broken = copy();
    broken.herbs[0]!.pinyin = 'huang qi';
    expect(validateContent(broken)).toContain('herb huangqi: pinyin must carry tone marks and single spaces; received "huang qi"');
  });
});

describe('search text', () => {
  it('folds case and tone marks one character for one, so positions line up', () => {
    expect(foldAligned('Huáng Qí 黄芪 NǙ')).toBe('huang qi 黄芪 nu');
    for (const doc of buildSearchDocuments(content)) {
      expect([...doc.normalised].length, `${doc.kind} ${doc.key}`).toBe([...doc.display].length);
    }
  });

  it('derives herb ids from pinyin, writing ü as v', () => {
    expect(pinyinSlug('huáng qí')).toBe('huangqi');
    expect(pinyinSlug('nǚ zhēn zǐ')).toBe('nvzhenzi');
  });

  it('normalises queries: NFKC, folding, spaces, terms and a safe tsquery', () => {
    expect(normaliseQuery('  Huáng   Qí ')).toEqual({ text: 'huang qi', compact: 'huangqi', terms: ['huang', 'qi'], tsquery: 'huang & qi:*', mentions: ' huang qi ' });
    // Full-width letters and digits, as typed with a Chinese input method.
    expect(normaliseQuery('ＳＴ３６')).toMatchObject({ text: 'st36', tsquery: 'st36:*' });
    expect(normaliseQuery('黄芪 补气')).toEqual({ text: '黄芪 补气', compact: '黄芪补气', terms: ['黄芪', '补气'], tsquery: null, mentions: ' 黄芪 补气 ' });
    // tsquery syntax in the input stays text: only [a-z0-9] words reach to_tsquery.
    expect(normaliseQuery("qi & !(x:* | 'y')").tsquery).toBe('qi & x & y:*');
    expect(likeContains('50%_a\\b')).toBe('%50\\%\\_a\\\\b%');
  });

  it('builds one document per item, with every spelling of the names', () => {
    const docs = buildSearchDocuments(content);
    expect(docs).toHaveLength(content.constitutions.length + content.herbs.length + content.acupoints.length + content.syndromes.length + content.articles.length);
    const herb = docs.find((d) => d.kind === 'HERB' && d.key === 'nvzhenzi')!;
    expect(herb.names).toEqual(expect.arrayContaining(['女贞子', 'nu zhen zi', 'nuzhenzi', 'nv zhen zi', 'nvzhenzi', 'glossy privet fruit', 'ligustri lucidi fructus']));
    const point = docs.find((d) => d.kind === 'ACUPOINT' && d.key === 'ST36')!;
    expect(point.names).toEqual(expect.arrayContaining(['足三里', 'zu san li', 'zusanli', 'leg three miles', 'st36']));
  });

  it('turns Markdown into one readable line for snippets', () => {
    expect(plainText('## 标题\n\n| a | b |\n| --- | --- |\n\n- **粗体**项\n1. 第一\n\n> 提醒')).toBe('标题 a b 粗体项 第一 提醒');
  });
});

describe('schema', () => {
  it('describes every type, field, argument, enum value and union', () => {
    const doc = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));
    const missing: string[] = [];
    visit(doc, {
      enter(node) {
        if (!('name' in node) || !node.name || !/Definition$/.test(node.kind) || node.kind === 'DirectiveDefinition') return;
        if (node.kind === 'ObjectTypeDefinition' && node.name.value === 'Query') return;
        if (!('description' in node) || !node.description?.value.trim()) missing.push(`${node.kind} ${node.name.value}`);
      },
    });
    expect(missing).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '@suoke/platform';
import { content } from '../src/content/index.js';
import { startKnowledge, type Knowledge } from './harness.js';

let k: Knowledge;
beforeAll(async () => {
  k = await startKnowledge();
});
afterAll(async () => {
  await k?.close();
});

describe('constitutions', () => {
  it('lists all nine in order, with every field', async () => {
    const { constitutions } = await k.data(`{
      constitutions {
        code name shortName nameEn pinyin summary summaryEn characteristics susceptibilities
        advice { diet exercise sleep emotions seasons }
      }
    }`);
    expect(constitutions.map((c: { code: string }) => c.code)).toEqual([
      'BALANCED', 'QI_DEFICIENT', 'YANG_DEFICIENT', 'YIN_DEFICIENT', 'PHLEGM_DAMP', 'DAMP_HEAT', 'BLOOD_STASIS', 'QI_STAGNATION', 'INHERITED_SPECIAL',
    ]);
    expect(constitutions.map((c: { name: string }) => c.name)).toEqual(['平和质', '气虚质', '阳虚质', '阴虚质', '痰湿质', '湿热质', '血瘀质', '气郁质', '特禀质']);
    const qi = constitutions[1];
    expect(qi).toMatchObject({ shortName: '气虚', nameEn: 'Qi-deficient constitution', pinyin: 'qì xū zhì' });
    expect(qi.characteristics.length).toBeGreaterThan(2);
    expect(qi.susceptibilities.length).toBeGreaterThan(1);
    for (const value of Object.values(qi.advice)) expect(value).toMatch(/\p{Script=Han}/u);
    expect(qi.advice.diet).toContain('山药');
  });

  it('links recommended herbs, foods and acupoints and related syndromes, in content order', async () => {
    const { constitution } = await k.data(`{
      constitution(code: "QI_DEFICIENT") {
        recommendedHerbs { id name nature }
        recommendedFoods { id name nameEn nature }
        recommendedAcupoints { code name meridian }
        relatedSyndromes { code name }
      }
    }`);
    const source = content.constitutions.find((c) => c.code === 'QI_DEFICIENT')!;
    expect(constitution.recommendedHerbs.map((h: { id: string }) => h.id)).toEqual(source.herbs);
    expect(constitution.recommendedHerbs[0]).toEqual({ id: 'huangqi', name: '黄芪', nature: 'WARM' });
    expect(constitution.recommendedFoods.map((f: { id: string }) => f.id)).toEqual(source.foods);
    expect(constitution.recommendedFoods[0]).toEqual({ id: 'shanyao', name: '山药', nameEn: 'Chinese yam', nature: 'NEUTRAL' });
    expect(constitution.recommendedAcupoints[0]).toEqual({ code: 'ST36', name: '足三里', meridian: 'STOMACH' });
    const expected = content.syndromes.filter((s) => s.constitutions.includes('QI_DEFICIENT')).map((s) => s.code);
    expect(constitution.relatedSyndromes.map((s: { code: string }) => s.code)).toEqual(expected);
    expect(expected).toContain('SPLEEN_QI_DEFICIENCY');
  });

  it('finds a code case-insensitively; unknown or malformed codes are null without an error', async () => {
    const result = await k.data(`{
      a: constitution(code: "qi_deficient") { code }
      b: constitution(code: "NOPE") { code }
      c: constitution(code: "not a code; drop table") { code }
      d: acupoint(code: "st36") { code name pinyin nameEn location indications selfCare summaryEn }
      e: herb(id: "HuangQi") { id latinName flavours meridians actions actionsEn cautions category }
      f: syndrome(code: "spleen_qi_deficiency") { name tongue pulse treatmentPrinciple keySigns relatedConstitutions { code } }
      g: article(id: "zusanli-self-massage") { title authorAgentId relatedConstitutions { code } }
    }`);
    expect(result.a).toEqual({ code: 'QI_DEFICIENT' });
    expect(result.b).toBeNull();
    expect(result.c).toBeNull();
    expect(result.d).toMatchObject({ code: 'ST36', name: '足三里', pinyin: 'zú sān lǐ', nameEn: 'Leg Three Miles' });
    expect(result.e).toMatchObject({ id: 'huangqi', latinName: 'Astragali Radix', flavours: ['SWEET'], meridians: ['SPLEEN', 'LUNG'], category: '补气药' });
    expect(result.f).toMatchObject({ name: '脾气虚证', treatmentPrinciple: '健脾益气', relatedConstitutions: [{ code: 'QI_DEFICIENT' }, { code: 'PHLEGM_DAMP' }] });
    expect(result.g).toEqual({ title: '足三里：人人都能用的保健穴', authorAgentId: 'laoke', relatedConstitutions: [{ code: 'QI_DEFICIENT' }, { code: 'BALANCED' }] });
  });
});

type Page = { totalCount: number; edges: Array<{ cursor: string; node: Record<string, string> }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };

async function walk(field: string, keyField: string, first: number, extraArgs = ''): Promise<{ keys: string[]; pages: Page[] }> {
  const keys: string[] = [];
  const pages: Page[] = [];
  let after: string | null = null;
  for (let i = 0; i < 20; i += 1) {
    const data: Record<string, Page> = await k.data(
      `query ($first: Int, $after: String) { ${field}(first: $first, after: $after${extraArgs}) { totalCount edges { cursor node { ${keyField} } } pageInfo { hasNextPage endCursor } } }`,
      { first, after },
    );
    const page = data[field]!;
    pages.push(page);
    keys.push(...page.edges.map((e) => e.node[keyField]!));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  return { keys, pages };
}

describe('connections', () => {
  it('walk every item exactly once, in order, with a stable totalCount', async () => {
    const cases = [
      { field: 'herbs', key: 'id', expected: content.herbs.map((h) => h.id) },
      { field: 'acupoints', key: 'code', expected: content.acupoints.map((a) => a.code) },
      { field: 'syndromes', key: 'code', expected: content.syndromes.map((s) => s.code) },
      {
        field: 'articles',
        key: 'id',
        expected: [...content.articles].sort((a, b) => b.publishedOn.localeCompare(a.publishedOn) || b.id.localeCompare(a.id)).map((a) => a.id),
      },
    ];
    for (const { field, key, expected } of cases) {
      const { keys, pages } = await walk(field, key, 7);
      expect(keys, field).toEqual(expected);
      expect(pages.length, field).toBe(Math.ceil(expected.length / 7));
      for (const page of pages) expect(page.totalCount, field).toBe(expected.length);
      expect(pages.at(-1)!.pageInfo.hasNextPage).toBe(false);
      expect(pages[0]!.edges.at(-1)!.cursor).toBe(pages[0]!.pageInfo.endCursor);
    }
  });

  it('filter by nature, channel and tag, counting only what the filter admits', async () => {
    const warm = await walk('herbs', 'id', 5, ', nature: WARM');
    expect(warm.keys).toEqual(content.herbs.filter((h) => h.nature === 'WARM').map((h) => h.id));
    expect(warm.pages[0]!.totalCount).toBe(warm.keys.length);

    const kidney = await walk('acupoints', 'code', 100, ', meridian: KIDNEY');
    expect(kidney.keys).toEqual(['KI1', 'KI3', 'KI6']);
    expect(kidney.pages[0]!.totalCount).toBe(3);

    const { articles } = await k.data(`{ articles(tag: "气虚") { totalCount edges { node { id tags authorAgentId publishedAt body } } } }`);
    expect(articles.totalCount).toBe(1);
    expect(articles.edges[0].node).toMatchObject({ id: 'qi-deficiency-care', authorAgentId: 'laoke', publishedAt: '2025-02-10T00:00:00.000Z' });
    expect(articles.edges[0].node.body).toMatch(/^## /);
    const none = await k.data(`{ articles(tag: "没有这个标签") { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } }`);
    expect(none.articles).toEqual({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('past the last item: an empty page that still counts everything', async () => {
    const last = content.herbs.length - 1;
    const after = encodeCursor([last, content.herbs[last]!.id]);
    const { herbs } = await k.data(`query ($after: String) { herbs(first: 5, after: $after) { totalCount edges { cursor } pageInfo { hasNextPage endCursor } } }`, { after });
    expect(herbs).toEqual({ totalCount: content.herbs.length, edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('refuse first outside 1–100 and cursors this connection did not make, naming the argument', async () => {
    const cases: Array<[string, string, string]> = [
      ['{ herbs(first: 0) { totalCount } }', 'first', 'first must be an integer from 1 to 100; received 0'],
      ['{ acupoints(first: 101) { totalCount } }', 'first', 'first must be an integer from 1 to 100; received 101'],
      ['{ syndromes(after: "garbage") { totalCount } }', 'after', 'after is not a cursor returned by this connection'],
      [`{ herbs(after: "${encodeCursor(['x', 'huangqi'])}") { totalCount } }`, 'after', 'after is not a cursor returned by this connection'],
      [`{ articles(after: "${encodeCursor([3, 'x'])}") { totalCount } }`, 'after', 'after is not a cursor returned by this connection'],
      ['{ articles(tag: " ") { totalCount } }', 'tag', 'tag must be 1–50 characters; received " "'],
    ];
    for (const [query, field, message] of cases) {
      const result = await k.gql(query);
      expect(result.errors?.[0], query).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT', field } });
    }
  });
});

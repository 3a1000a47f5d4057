import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKnowledge, type Knowledge } from './harness.js';

let k: Knowledge;
beforeAll(async () => {
  k = await startKnowledge();
});
afterAll(async () => {
  await k?.close();
});

const SEARCH = /* GraphQL */ `
  query ($query: String!, $kinds: [KnowledgeKind!], $first: Int) {
    search(query: $query, kinds: $kinds, first: $first) {
      score
      snippet
      kind
      item {
        __typename
        ... on Constitution { code name }
        ... on Herb { id name pinyin }
        ... on Acupoint { code name }
        ... on Syndrome { code name }
        ... on Article { id title }
      }
    }
  }
`;

interface Hit {
  score: number;
  snippet: string;
  kind: string;
  item: { __typename: string; code?: string; id?: string; name?: string; title?: string };
}

async function search(query: string, options: { kinds?: string[]; first?: number } = {}): Promise<Hit[]> {
  const data = await k.data<{ search: Hit[] }>(SEARCH, { query, ...options });
  return data.search;
}
const keyOf = (hit: Hit) => `${hit.kind}:${hit.item.code ?? hit.item.id}`;

describe('search', () => {
  it('finds 黄芪 by Chinese, by pinyin with or without tones and spaces, by English and by Latin name', async () => {
    for (const query of ['黄芪', 'huáng qí', 'Huáng Qí', 'huang qi', 'huangqi', 'HUANGQI', 'astragalus', 'Astragali Radix', '北芪']) {
      const [top] = await search(query);
      expect(top, query).toMatchObject({ kind: 'HERB', item: { __typename: 'Herb', id: 'huangqi', name: '黄芪', pinyin: 'huáng qí' } });
    }
  });

  it('ranks exact name hits first, then names that start with the query, then names that contain it, then text', async () => {
    const hits = await search('气虚', { first: 20 });
    // Exact: the constitution's short name (ties list constitutions first) and the syndrome 气虚证's stem.
    expect(hits.slice(0, 2).map(keyOf)).toEqual(['CONSTITUTION:QI_DEFICIENT', 'SYNDROME:QI_DEFICIENCY']);
    expect(hits[0]!.score).toBeGreaterThanOrEqual(1);
    // Names containing 气虚 (肺气虚证, 脾气虚证) outrank text that merely mentions it.
    const inName = hits.findIndex((h) => h.item.code === 'SPLEEN_QI_DEFICIENCY');
    const textOnly = hits.findIndex((h) => h.kind === 'HERB');
    expect(inName).toBeGreaterThan(1);
    expect(textOnly === -1 || textOnly > inName).toBe(true);
    for (let i = 1; i < hits.length; i += 1) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);

    // A pinyin prefix lists the exact herb before the herb whose pinyin merely starts the same way.
    expect((await search('huang qi')).slice(0, 2).map(keyOf)).toEqual(['HERB:huangqi', 'HERB:huangqin']);
    // The item named by the query beats articles that mention it.
    const zusanli = await search('足三里');
    expect(keyOf(zusanli[0]!)).toBe('ACUPOINT:ST36');
    expect(zusanli.slice(1).every((h) => h.score < zusanli[0]!.score)).toBe(true);
  });

  it('matches codes and English names of acupoints and syndromes', async () => {
    for (const query of ['ST36', 'st36', 'ＳＴ３６', 'st 36', 'Leg Three Miles', 'zu san li', 'zúsānlǐ']) {
      expect(keyOf((await search(query))[0]!), query).toBe('ACUPOINT:ST36');
    }
    expect(keyOf((await search('spleen qi deficiency'))[0]!)).toBe('SYNDROME:SPLEEN_QI_DEFICIENCY');
    expect(keyOf((await search('脾气虚证'))[0]!)).toBe('SYNDROME:SPLEEN_QI_DEFICIENCY');
    expect(keyOf((await search('qi-deficient constitution'))[0]!)).toBe('CONSTITUTION:QI_DEFICIENT');
  });

  it('accepts ü written as ü, u or v', async () => {
    for (const query of ['nǚ zhēn zǐ', 'nü zhen zi', 'nu zhen zi', 'nvzhenzi']) {
      expect(keyOf((await search(query))[0]!), query).toBe('HERB:nvzhenzi');
    }
  });

  it('finds Chinese text inside items, with the matched text in the snippet', async () => {
    const hits = await search('失眠', { first: 50 });
    expect(hits.length).toBeGreaterThan(5);
    for (const hit of hits) expect(hit.snippet, keyOf(hit)).toContain('失眠');
    expect(hits.map(keyOf)).toEqual(expect.arrayContaining(['ACUPOINT:HT7', 'SYNDROME:KIDNEY_YIN_DEFICIENCY', 'ARTICLE:yin-deficiency-dryness']));
    // A title is one of an article's names: it outranks text that mentions the word.
    expect(keyOf(hits[0]!)).toBe('ARTICLE:yin-deficiency-dryness');

    const [herb] = await search('huang qi');
    expect(herb!.snippet.startsWith('黄芪 huáng qí')).toBe(true);
    // English words anywhere in the text, with the original spelling in the snippet.
    const insomnia = await search('insomnia');
    expect(insomnia.length).toBeGreaterThan(2);
    for (const hit of insomnia) expect(hit.snippet.toLowerCase()).toContain('insomnia');
    // A long text is cut around the match, marked with ellipses.
    const late = (await search('玉屏风散'))[0]!;
    expect(late.item.id).toBe('allergy-season');
    expect(late.snippet).toMatch(/^….*玉屏风散.*…$/);
    expect([...late.snippet].length).toBeLessThanOrEqual(24 + 72 + 2);
  });

  it('ranks items holding every term above items holding some, for several terms', async () => {
    const hits = await search('黄芪 当归', { first: 20 });
    expect(hits.slice(0, 2).map(keyOf).sort()).toEqual(['HERB:danggui', 'HERB:huangqi']);
    const both = await search('气虚 黄芪', { first: 5 });
    expect(keyOf(both[0]!)).toBe('ARTICLE:qi-deficiency-care');
  });

  it('tolerates a typo in a name (trigram similarity)', async () => {
    const [top] = await search('astragalas');
    expect(keyOf(top!)).toBe('HERB:huangqi');
    expect(top!.score).toBeLessThan(0.4);
  });

  it('filters by kind and caps the number of hits', async () => {
    const herbsOnly = await search('气', { kinds: ['HERB'], first: 50 });
    expect(herbsOnly.length).toBeGreaterThan(5);
    expect(new Set(herbsOnly.map((h) => h.kind))).toEqual(new Set(['HERB']));
    const two = await search('气', { kinds: ['SYNDROME', 'CONSTITUTION'], first: 50 });
    expect(new Set(two.map((h) => h.kind))).toEqual(new Set(['SYNDROME', 'CONSTITUTION']));
    expect(await search('气', { first: 3 })).toHaveLength(3);
    expect(await search('气')).toHaveLength(10);
    expect(await search('这个词不在任何条目里')).toEqual([]);
  });

  it('treats LIKE wildcards and tsquery syntax in the query as text', async () => {
    expect(await search('%')).toEqual([]);
    // As a wildcard, _ would match 气虚质 and the other constitutions.
    expect(await search('气_质')).toEqual([]);
    expect(keyOf((await search('qi_deficient'))[0]!)).toBe('CONSTITUTION:QI_DEFICIENT');
    // Operators are dropped: the words remain (huang & qi & x), and nothing reaches to_tsquery as syntax.
    const { result } = await k.countStatements(() => k.gql(SEARCH, { query: "huang & !qi | ('x'):*" }));
    expect(result.errors).toBeUndefined();
  });

  it('is one SQL statement per search, items included', async () => {
    const { result, statements } = await k.countStatements(() => k.gql(SEARCH, { query: '气', first: 50 }));
    expect(result.errors).toBeUndefined();
    expect((result.data as { search: Hit[] }).search.length).toBeGreaterThan(30);
    expect(statements).toBe(1);
  });

  it('refuses an empty, blank or 200-character query, an empty kinds list and first outside 1–50', async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ query: '' }, 'query', 'query must contain at least one character besides spaces; received an empty query'],
      [{ query: '   \t ' }, 'query', 'query must contain at least one character besides spaces; received an empty query'],
      [{ query: '气'.repeat(200) }, 'query', 'query must be at most 199 characters after trimming; received 200'],
      [{ query: 'a'.repeat(250) }, 'query', 'query must be at most 199 characters after trimming; received 250'],
      [{ query: '气', kinds: [] }, 'kinds', 'kinds must name at least one kind when given; omit it to search every kind'],
      [{ query: '气', first: 0 }, 'first', 'first must be an integer from 1 to 50; received 0'],
      [{ query: '气', first: 51 }, 'first', 'first must be an integer from 1 to 50; received 51'],
    ];
    for (const [variables, field, message] of cases) {
      const { result, statements } = await k.countStatements(() => k.gql(SEARCH, variables));
      expect(result.errors?.[0], JSON.stringify(variables).slice(0, 60)).toMatchObject({ message, extensions: { code: 'BAD_USER_INPUT', field } });
      expect(statements).toBe(0);
    }
    // 199 characters after trimming is accepted, surrounding spaces notwithstanding.
    const ok = await k.gql(SEARCH, { query: `  ${'气'.repeat(199)}  ` });
    expect(ok.errors).toBeUndefined();
  });
});

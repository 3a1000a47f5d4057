import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_ALIASES } from '../src/content/aliases.js';
import { content } from '../src/content/index.js';
import { buildSearchDocuments, mentionsOf } from '../src/search/documents.js';
import { RANKING } from '../src/search/ranking.js';
import { startKnowledge, type Knowledge } from './harness.js';

// Questions as people ask them, in Chinese, pinyin and English: the query holds an item's name among other words
// (the `mentions` tier), where the other tiers look for the query inside the item.

let k: Knowledge;
beforeAll(async () => {
  k = await startKnowledge();
});
afterAll(async () => {
  await k?.close();
});

const SEARCH = /* GraphQL */ `
  query ($query: String!, $first: Int) {
    search(query: $query, first: $first) {
      score snippet kind
      item { __typename ... on Constitution { code } ... on Herb { id } ... on Acupoint { code } ... on Syndrome { code } ... on Article { id } }
    }
  }
`;
interface Hit {
  score: number;
  snippet: string;
  kind: string;
  item: { code?: string; id?: string };
}
async function search(query: string, first = 10): Promise<Hit[]> {
  return (await k.data<{ search: Hit[] }>(SEARCH, { query, first })).search;
}
const keyOf = (hit: Hit) => `${hit.kind}:${hit.item.code ?? hit.item.id}`;
const inMentionsTier = (hit: Hit) => hit.score >= RANKING.mentions && hit.score < RANKING.allTerms;

describe('search documents', () => {
  it('names every alias key after an item of the content', () => {
    const docs = new Set(buildSearchDocuments(content).map((d) => `${d.kind}:${d.key}`));
    expect(Object.keys(SEARCH_ALIASES).filter((key) => !docs.has(key))).toEqual([]);
  });

  it('gives every item a Latin-script name a question can mention (pinyin or English), articles included', () => {
    const withoutLatin = buildSearchDocuments(content).filter((d) => !d.mentions.some((m) => /[a-z]/.test(m)));
    expect(withoutLatin.map((d) => `${d.kind}:${d.key}`)).toEqual([]);
    const yang = buildSearchDocuments(content).find((d) => d.key === 'YANG_DEFICIENT')!;
    expect(yang.names).toEqual(expect.arrayContaining(['yang-deficient constitution', 'yang deficient', 'yang deficiency', 'yang xu', 'yangxu']));
  });

  it('keeps mentions specific: whole words for Latin names, two characters or more for Chinese', () => {
    expect(mentionsOf(['黄芪', '姜', 'Yang-deficient constitution', 'qi', 'LI4', 'he gu', 'Solomon’s seal'])).toEqual([
      '黄芪', ' yang deficient constitution ', ' li4 ', ' he gu ', ' solomon s seal ',
    ]);
  });
});

describe('search for a question', () => {
  it.each([
    ['黄芪有什么功效？', 'HERB:huangqi'],
    ['huangqi you shenme gongxiao', 'HERB:huangqi'],
    ['What is astragalus good for?', 'HERB:huangqi'],
    ['肾阳虚证是什么意思', 'SYNDROME:KIDNEY_YANG_DEFICIENCY'],
    ['shen yang xu zheng you naxie biaoxian', 'SYNDROME:KIDNEY_YANG_DEFICIENCY'],
    ['What are the signs of kidney yang deficiency?', 'SYNDROME:KIDNEY_YANG_DEFICIENCY'],
    ['sanyinjiao de weizhi zai nar', 'ACUPOINT:SP6'],
  ])('“%s” finds %s first, in the mentions tier', async (question, expected) => {
    const [top] = await search(question);
    expect(keyOf(top!)).toBe(expected);
    expect(inMentionsTier(top!), String(top!.score)).toBe(true);
  });

  it('finds the constitution and the winter article for the question of issue 20, the longer name first', async () => {
    const hits = await search('What is the yang-deficient constitution and how should it be managed in winter?');
    expect(hits.slice(0, 2).map(keyOf)).toEqual(['CONSTITUTION:YANG_DEFICIENT', 'ARTICLE:yang-deficiency-winter']);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    // The snippet starts where the item is named, not at an arbitrary word of the question.
    expect(hits[0]!.snippet.startsWith('阳虚质')).toBe(true);
  });

  it('matches Latin names only as whole words', async () => {
    // "the gut" holds "he gu" (合谷, LI4) across two words; "peppermint" ends in "mint" (薄荷).
    expect((await search('the gut feels bloated')).map(keyOf)).not.toContain('ACUPOINT:LI4');
    expect((await search('is peppermints ok')).map(keyOf)).not.toContain('HERB:bohe');
    expect((await search('is peppermint tea ok')).map(keyOf)).toContain('HERB:bohe');
  });

  it('still lists an item holding every term above items merely named by the query', async () => {
    const hits = await search('气虚 黄芪', 5);
    expect(keyOf(hits[0]!)).toBe('ARTICLE:qi-deficiency-care');
    expect(hits.slice(1).map(keyOf)).toEqual(expect.arrayContaining(['CONSTITUTION:QI_DEFICIENT', 'HERB:huangqi']));
  });

  it('is still one SQL statement per search', async () => {
    const { result, statements } = await k.countStatements(() => k.gql(SEARCH, { query: 'qixu de ren keyi chi renshen ma', first: 50 }));
    expect(result.errors).toBeUndefined();
    expect((result.data as { search: Hit[] }).search.map(keyOf)).toEqual(expect.arrayContaining(['HERB:renshen', 'CONSTITUTION:QI_DEFICIENT']));
    expect(statements).toBe(1);
  });
});

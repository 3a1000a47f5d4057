import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSTITUTION_CODES, content } from '../src/content/index.js';
import { startKnowledge, type Knowledge } from './harness.js';

let k: Knowledge;
beforeAll(async () => {
  k = await startKnowledge();
});
afterAll(async () => {
  await k?.close();
});

const ENTITIES = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      __typename
      ... on Constitution { code name recommendedHerbs { id name } recommendedAcupoints { code } recommendedFoods { id } relatedSyndromes { code } }
      ... on Herb { id name latinName }
      ... on Acupoint { code name }
      ... on Syndrome { code name relatedConstitutions { code name } }
      ... on Article { id title relatedConstitutions { code } }
    }
  }
`;

type Entity = Record<string, unknown> & { __typename: string } | null;

async function entities(representations: Record<string, unknown>[]) {
  const { result, statements } = await k.countStatements(() => k.gql<{ _entities: Entity[] }>(ENTITIES, { representations }));
  expect(result.errors).toBeUndefined();
  return { entities: result.data!._entities, statements };
}

describe('entities', () => {
  it('resolves every owned type by its key, null for keys that match nothing', async () => {
    const { entities: found } = await entities([
      { __typename: 'Constitution', code: 'BLOOD_STASIS' },
      { __typename: 'Herb', id: 'danggui' },
      { __typename: 'Acupoint', code: 'SP6' },
      { __typename: 'Syndrome', code: 'LIVER_QI_STAGNATION' },
      { __typename: 'Article', id: 'herb-safety' },
      { __typename: 'Herb', id: 'no-such-herb' },
      { __typename: 'Constitution', code: 'NOT_A_CONSTITUTION' },
    ]);
    expect(found[0]).toMatchObject({ __typename: 'Constitution', code: 'BLOOD_STASIS', name: '血瘀质' });
    expect((found[0]!.recommendedHerbs as unknown[]).length).toBe(content.constitutions[6]!.herbs.length);
    expect(found[1]).toEqual({ __typename: 'Herb', id: 'danggui', name: '当归', latinName: 'Angelicae Sinensis Radix' });
    expect(found[2]).toEqual({ __typename: 'Acupoint', code: 'SP6', name: '三阴交' });
    expect(found[3]).toEqual({ __typename: 'Syndrome', code: 'LIVER_QI_STAGNATION', name: '肝郁气滞证', relatedConstitutions: [{ code: 'QI_STAGNATION', name: '气郁质' }] });
    expect(found[4]).toEqual({ __typename: 'Article', id: 'herb-safety', title: '药食同源不等于随便吃：中药安全常识', relatedConstitutions: [] });
    expect(found.slice(5)).toEqual([null, null]);
  });

  it('sends no SQL for keys that cannot be keys', async () => {
    const { entities: found, statements } = await entities([
      { __typename: 'Herb', id: '黄芪; drop table' },
      { __typename: 'Constitution', code: 'x'.repeat(500) },
      { __typename: 'Acupoint', code: 42 },
    ]);
    expect(found).toEqual([null, null, null]);
    expect(statements).toBe(0);
  });
});

describe('batching: one statement per loader, whatever the number of parents or references', () => {
  it('3 and 30 Herb references: one statement each', async () => {
    const counts: number[] = [];
    for (const n of [3, 30]) {
      const ids = content.herbs.slice(0, n).map((h) => h.id);
      const { entities: found, statements } = await entities(ids.map((id) => ({ __typename: 'Herb', id })));
      expect(found.map((e) => e?.id)).toEqual(ids);
      counts.push(statements);
    }
    console.info(`_entities Herb statements: 3 → ${counts[0]}, 30 → ${counts[1]}`);
    expect(counts).toEqual([1, 1]);
  });

  it('3 and 30 Constitution references with their lists: one statement per loader', async () => {
    const counts: number[] = [];
    for (const n of [3, 30]) {
      // 30 representations of the nine codes, in mixed case: canonical keys batch and cache together.
      const codes = Array.from({ length: n }, (_, i) => CONSTITUTION_CODES[i % 9]!);
      const representations = codes.map((code, i) => ({ __typename: 'Constitution', code: i % 2 ? code.toLowerCase() : code }));
      const { entities: found, statements } = await entities(representations);
      expect(found.map((e) => e?.code)).toEqual(codes);
      for (const entity of found) expect((entity!.recommendedHerbs as unknown[]).length).toBeGreaterThan(0);
      counts.push(statements);
    }
    console.info(`_entities Constitution statements: 3 → ${counts[0]}, 30 → ${counts[1]}`);
    // constitution, herbs, acupoints, foods, syndromes.
    expect(counts).toEqual([5, 5]);
  });

  it('all nine constitutions with their recommendations cost what one does', async () => {
    const fields = `code recommendedHerbs { name } recommendedAcupoints { name } recommendedFoods { name } relatedSyndromes { name }`;
    const all = await k.countStatements(() => k.data(`{ constitutions { ${fields} } }`));
    const one = await k.countStatements(() => k.data(`{ constitution(code: "YIN_DEFICIENT") { ${fields} } }`));
    expect(all.result.constitutions).toHaveLength(9);
    for (const c of all.result.constitutions) expect(c.recommendedHerbs.length, c.code).toBeGreaterThan(0);
    console.info(`constitutions with four lists: all nine → ${all.statements}, one → ${one.statements}`);
    expect(all.statements).toBe(one.statements);
    expect(all.statements).toBe(5);
  });

  it('syndromes(first: 5) and syndromes(first: 50) with related constitutions: the same statements', async () => {
    const query = `query ($first: Int) { syndromes(first: $first) { totalCount edges { node { code relatedConstitutions { code recommendedHerbs { id } } } } } }`;
    const five = await k.countStatements(() => k.data(query, { first: 5 }));
    const fifty = await k.countStatements(() => k.data(query, { first: 50 }));
    expect(five.result.syndromes.edges).toHaveLength(5);
    expect(fifty.result.syndromes.edges).toHaveLength(content.syndromes.length);
    for (const edge of fifty.result.syndromes.edges) expect(edge.node.relatedConstitutions.length).toBeGreaterThan(0);
    console.info(`syndromes with constitutions and their herbs: first 5 → ${five.statements}, first 50 → ${fifty.statements}`);
    expect(fifty.statements).toBe(five.statements);
    // page (with its count), related constitutions, their herbs.
    expect(five.statements).toBe(3);
  });

  it('articles and search hits resolve their lists in one statement per loader too', async () => {
    const articles = await k.countStatements(() => k.data(`{ articles(first: 100) { edges { node { id relatedConstitutions { code recommendedAcupoints { code } } } } } }`));
    expect(articles.result.articles.edges).toHaveLength(content.articles.length);
    expect(articles.statements).toBe(3);
    const hits = await k.countStatements(() =>
      k.data(`{ search(query: "气", first: 40) { item { ... on Constitution { recommendedHerbs { id } } ... on Syndrome { relatedConstitutions { code } } } } }`),
    );
    expect(hits.result.search).toHaveLength(40);
    // search, constitutions' herbs, syndromes' constitutions.
    expect(hits.statements).toBe(3);
  });
});

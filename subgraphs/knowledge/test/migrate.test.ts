import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { content, type Content } from '../src/content/index.js';
import { syncContent } from '../src/db/sync.js';
import { seedKnowledge } from '../src/seed.js';
import { migrate } from '../src/server.js';
import { startKnowledge, tableCounts, type Knowledge } from './harness.js';

let k: Knowledge;
beforeAll(async () => {
  k = await startKnowledge();
});
afterAll(async () => {
  await k?.close();
});

const links = (c: Content) => ({
  constitution_herbs: c.constitutions.reduce((n, x) => n + x.herbs.length, 0),
  constitution_foods: c.constitutions.reduce((n, x) => n + x.foods.length, 0),
  constitution_acupoints: c.constitutions.reduce((n, x) => n + x.acupoints.length, 0),
  syndrome_constitutions: c.syndromes.reduce((n, x) => n + x.constitutions.length, 0),
  article_constitutions: c.articles.reduce((n, x) => n + x.constitutions.length, 0),
});
const expectedCounts = (c: Content) => ({
  constitutions: c.constitutions.length,
  herbs: c.herbs.length,
  acupoints: c.acupoints.length,
  syndromes: c.syndromes.length,
  articles: c.articles.length,
  foods: c.foods.length,
  ...links(c),
  search_documents: c.constitutions.length + c.herbs.length + c.acupoints.length + c.syndromes.length + c.articles.length,
});

describe('migrate', () => {
  it('applies the SQL and loads every item of the content on a fresh database', async () => {
    expect(k.migrated.applied).toEqual(['0001_knowledge.sql', '0002_multilingual.sql']);
    const counts = await tableCounts(k.database);
    expect(counts).toEqual(expectedCounts(content));
    expect(k.migrated.content.changed).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
    expect(k.migrated.content.deleted).toBe(0);
    expect(counts).toMatchObject({ constitutions: 9 });
    expect(counts.herbs).toBeGreaterThanOrEqual(40);
    expect(counts.acupoints).toBeGreaterThanOrEqual(30);
    expect(counts.syndromes).toBeGreaterThanOrEqual(15);
    expect(counts.articles).toBeGreaterThanOrEqual(10);
  });

  it('run again changes nothing: no SQL file, no row written, no duplicate', async () => {
    const before = await k.database.rows<{ xmin: string; code: string }>(sql`select xmin::text as xmin, code from "knowledge".constitutions order by code`);
    const again = await migrate(k.database);
    const twice = await migrate(k.database);
    for (const result of [again, twice]) {
      expect(result.applied).toEqual([]);
      expect(result.skipped).toEqual(['0001_knowledge.sql', '0002_multilingual.sql']);
      expect(result.content.changed).toBe(0);
      expect(result.content.deleted).toBe(0);
    }
    expect(await tableCounts(k.database)).toEqual(expectedCounts(content));
    // Unchanged rows are not even rewritten: their row versions stay the same.
    const after = await k.database.rows<{ xmin: string; code: string }>(sql`select xmin::text as xmin, code from "knowledge".constitutions order by code`);
    expect(after).toEqual(before);
  });

  it('applies a content edit as exactly the rows it touches, removals included, and back', async () => {
    const edited: Content = structuredClone(content);
    edited.herbs[0]!.cautions = [...edited.herbs[0]!.cautions, '测试用的新注意事项'];
    // Removing a herb removes its links; adding a link adds one row.
    const removed = edited.herbs.findIndex((h) => h.id === 'heye');
    edited.herbs.splice(removed, 1);
    for (const c of edited.constitutions) c.herbs = c.herbs.filter((id) => id !== 'heye');
    edited.constitutions[0]!.herbs.push('renshen');

    const result = await syncContent(k.database, edited);
    // huangqi's caution, and the herbs after heye moved up one position.
    expect(result.tables.herbs).toEqual({ changed: 1 + (content.herbs.length - removed - 1), deleted: 1 });
    // heye was linked to PHLEGM_DAMP and DAMP_HEAT: those links went with it.
    expect(result.tables.constitution_herbs).toEqual({ changed: 1, deleted: 0 });
    expect(result.tables.search_documents).toEqual({ changed: 1, deleted: 1 });
    expect(result.tables.constitutions).toEqual({ changed: 0, deleted: 0 });
    expect(await tableCounts(k.database)).toEqual(expectedCounts(edited));
    const { herb } = await k.data(`{ herb(id: "huangqi") { cautions } }`);
    expect(herb.cautions.at(-1)).toBe('测试用的新注意事项');
    const { search } = await k.data(`{ search(query: "测试用的新注意事项") { item { ... on Herb { id } } } }`);
    expect(search).toEqual([{ item: { id: 'huangqi' } }]);

    const restored = await migrate(k.database);
    expect(restored.content.tables.herbs).toEqual({ changed: 1 + (content.herbs.length - removed), deleted: 0 });
    expect(await tableCounts(k.database)).toEqual(expectedCounts(content));
    expect((await migrate(k.database)).content.changed).toBe(0);
  });

  it('refuses invalid content before writing anything', async () => {
    const broken: Content = structuredClone(content);
    broken.herbs[0]!.name = '改过的名字';
    broken.constitutions[0]!.acupoints.push('XX1');
    const { statements } = await k.countStatements(async () => {
      await expect(syncContent(k.database, broken)).rejects.toThrow(/knowledge content is invalid:\n {2}- constitution BALANCED: unknown acupoint XX1/);
    });
    expect(statements).toBe(0);
    const { herb } = await k.data(`{ herb(id: "huangqi") { name } }`);
    expect(herb.name).toBe('黄芪');
  });

  it('the development seed only confirms the content is there', async () => {
    const result = await seedKnowledge(k.database, { userIds: [] });
    expect(result.changed).toBe(0);
    expect(result.counts).toMatchObject({ constitutions: 9, herbs: content.herbs.length, searchDocuments: expectedCounts(content).search_documents });
  });
});

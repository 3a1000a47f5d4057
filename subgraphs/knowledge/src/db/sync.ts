import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { rowsOf, type Database } from '@suoke/platform';
import { LAOKE_AGENT_ID, validateContent, type Content } from '../content/index.js';
import { buildSearchDocuments } from '../search/documents.js';
import * as t from './schema.js';

/** Rows changed (inserted or updated) and deleted per table by one sync. */
export interface SyncResult {
  changed: number;
  deleted: number;
  tables: Record<string, { changed: number; deleted: number }>;
}

type Rows<T extends PgTable> = T['$inferInsert'][];

/**
 * Makes the knowledge tables equal to `content`: one statement per table
 * (upsert plus delete of rows no longer in the content), all in one
 * transaction under an advisory lock so replicas migrating together take
 * turns. Rows whose values are unchanged are not written, so a second run
 * reports zero changes. Invalid content throws before anything is written.
 */
export async function syncContent(database: Database, content: Content): Promise<SyncResult> {
  const problems = validateContent(content);
  if (problems.length > 0) throw new Error(`knowledge content is invalid:\n  - ${problems.join('\n  - ')}`);

  const plan: Array<[PgTable, string[], Record<string, unknown>[]]> = [
    // Entities first: links reference them, and removed entities take their links along.
    [t.constitutions, ['code'], content.constitutions.map((c, position) => ({
      code: c.code, position, name: c.name, shortName: c.shortName, nameEn: c.nameEn, pinyin: c.pinyin,
      summary: c.summary, summaryEn: c.summaryEn, characteristics: c.characteristics, susceptibilities: c.susceptibilities,
      adviceDiet: c.advice.diet, adviceExercise: c.advice.exercise, adviceSleep: c.advice.sleep,
      adviceEmotions: c.advice.emotions, adviceSeasons: c.advice.seasons,
    }) satisfies Rows<typeof t.constitutions>[number])],
    [t.herbs, ['id'], content.herbs.map(({ aliases: _aliases, ...h }, position) => ({ ...h, position }) satisfies Rows<typeof t.herbs>[number])],
    [t.acupoints, ['code'], content.acupoints.map((a, position) => ({ ...a, position }) satisfies Rows<typeof t.acupoints>[number])],
    [t.syndromes, ['code'], content.syndromes.map(({ constitutions: _c, ...s }, position) => ({ ...s, position }) satisfies Rows<typeof t.syndromes>[number])],
    [t.articles, ['id'], content.articles.map(({ constitutions: _c, publishedOn, ...a }) => ({
      ...a, authorAgentId: LAOKE_AGENT_ID, publishedAt: `${publishedOn}T00:00:00Z`,
    }) satisfies Rows<typeof t.articles>[number])],
    [t.foods, ['id'], content.foods.map((f, position) => ({ ...f, position }) satisfies Rows<typeof t.foods>[number])],
    [t.constitutionHerbs, ['constitutionCode', 'herbId'], content.constitutions.flatMap((c) =>
      c.herbs.map((herbId, position) => ({ constitutionCode: c.code, herbId, position })))],
    [t.constitutionFoods, ['constitutionCode', 'foodId'], content.constitutions.flatMap((c) =>
      c.foods.map((foodId, position) => ({ constitutionCode: c.code, foodId, position })))],
    [t.constitutionAcupoints, ['constitutionCode', 'acupointCode'], content.constitutions.flatMap((c) =>
      c.acupoints.map((acupointCode, position) => ({ constitutionCode: c.code, acupointCode, position })))],
    [t.syndromeConstitutions, ['syndromeCode', 'constitutionCode'], content.syndromes.flatMap((s) =>
      s.constitutions.map((constitutionCode, position) => ({ syndromeCode: s.code, constitutionCode, position })))],
    [t.articleConstitutions, ['articleId', 'constitutionCode'], content.articles.flatMap((a) =>
      a.constitutions.map((constitutionCode, position) => ({ articleId: a.id, constitutionCode, position })))],
    [t.searchDocuments, ['kind', 'key'], buildSearchDocuments(content).map((d) => ({ ...d }) satisfies Rows<typeof t.searchDocuments>[number])],
  ];

  const result: SyncResult = { changed: 0, deleted: 0, tables: {} };
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('suoke:content:knowledge'))`);
    for (const [table, keys, rows] of plan) {
      const [counts] = rowsOf<{ changed: number; deleted: number }>(await tx.execute(syncStatement(table, keys, rows)));
      const name = getTableConfig(table).name;
      result.tables[name] = { changed: counts?.changed ?? 0, deleted: counts?.deleted ?? 0 };
      result.changed += result.tables[name].changed;
      result.deleted += result.tables[name].deleted;
    }
  });
  return result;
}

/**
 * One statement that makes `table` hold exactly `rows`: the rows travel as one
 * jsonb parameter (arrays included, which unnest() could not carry), existing
 * rows are updated only when a value differs, and rows whose key is absent
 * are deleted. Returns how many rows were written and deleted.
 */
export function syncStatement(table: PgTable, keyProps: string[], rows: Record<string, unknown>[]): SQL {
  const { name, schema } = getTableConfig(table);
  const columns = Object.entries(getTableColumns(table)).map(([prop, column]) => ({ prop, name: column.name, type: column.getSQLType() }));
  const keys = keyProps.map((prop) => {
    const column = columns.find((c) => c.prop === prop);
    if (!column) throw new Error(`syncStatement: ${name} has no column ${prop}`);
    return column.name;
  });
  const values = columns.filter((c) => !keys.includes(c.name));
  const records = rows.map((row) => Object.fromEntries(columns.map((c) => [c.name, row[c.prop] ?? null])));

  const q = (id: string) => `"${id}"`;
  const target = `${q(schema ?? 'public')}.${q(name)}`;
  const list = (prefix: string, cols: { name: string }[]) => cols.map((c) => `${prefix}${q(c.name)}`).join(', ');
  const recordType = columns.map((c) => `${q(c.name)} ${c.type}`).join(', ');
  const keyMatch = keys.map((k) => `i.${q(k)} = t.${q(k)}`).join(' and ');
  const update =
    values.length === 0
      ? 'do nothing'
      : `do update set ${values.map((c) => `${q(c.name)} = excluded.${q(c.name)}`).join(', ')}
         where (${list('t.', values)}) is distinct from (${list('excluded.', values)})`;

  return sql`
    with incoming as (
      select * from jsonb_to_recordset(${JSON.stringify(records)}::jsonb) as i(${sql.raw(recordType)})
    ), written as (
      insert into ${sql.raw(target)} as t (${sql.raw(list('', columns))})
      select ${sql.raw(list('i.', columns))} from incoming i
      on conflict (${sql.raw(keys.map(q).join(', '))}) ${sql.raw(update)}
      returning 1
    ), removed as (
      delete from ${sql.raw(target)} t
      where not exists (select 1 from incoming i where ${sql.raw(keyMatch)})
      returning 1
    )
    select (select count(*) from written)::int as changed, (select count(*) from removed)::int as deleted`;
}

import { parse } from 'graphql';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { findNulCharacter } from '../src/nul-guard.js';
import { createSubgraph, subgraphEnv, type Subgraph } from '../src/subgraph/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

describe('findNulCharacter', () => {
  const doc = (source: string) => parse(source);

  it('finds U+0000 anywhere in the variables, with its path', () => {
    expect(findNulCharacter(undefined, { id: 'a\u0000' })).toBe('$id');
    expect(findNulCharacter(undefined, { input: [{ externalId: 'ok' }, { externalId: 'ok', source: 'x\u0000y' }] })).toBe('$input[1].source');
    expect(findNulCharacter(undefined, { deep: { list: [[{ s: '\u0000' }]] } })).toBe('$deep.list[0][0].s');
    // Unused variables count too: nothing is gained by letting them through.
    expect(findNulCharacter(doc('{ a }'), { unused: '\u0000' })).toBe('$unused');
  });

  it('finds U+0000 in string literals: arguments, nested objects, lists, directives, variable defaults', () => {
    expect(findNulCharacter(doc('{ a(s: "x\\u0000") }'), undefined)).toBe('a.s');
    expect(findNulCharacter(doc('mutation { record(input: [{ id: "1" }, { id: "2", note: "\\u0000" }]) { n } }'), {})).toBe('record.input[1].note');
    expect(findNulCharacter(doc('{ a { b @tag(name: "\\u0000") } }'), {})).toBe('@tag.name');
    expect(findNulCharacter(doc('query($s: String = "\\u0000") { a(s: $s) }'), {})).toBe('$s');
    expect(findNulCharacter(doc('{ a(s: """block \u0000""") }'), {})).toBe('a.s');
  });

  it('lets everything else through, other control characters and non-string values included', () => {
    expect(findNulCharacter(doc('{ a(s: "tab\\t \\u0001 中文 \\uD83D\\uDE00", n: 0, b: false, e: NULL, l: [1, null]) }'), { n: 0, o: null, s: '\u0001\u007f', b: true })).toBeUndefined();
    expect(findNulCharacter(undefined, undefined)).toBeUndefined();
  });
});

describe('a subgraph refuses U+0000 before any resolver runs', () => {
  const typeDefs = parse(`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
    scalar Json
    input NoteInput { id: ID! text: String! }
    type Query { echo(text: String!): String }
    type Mutation { addNotes(input: [NoteInput!]!): Int! addRaw(value: Json!): Int! }
  `);
  const log = createLogger({ service: 'nul-test', level: 'silent', format: 'json' });
  const config = loadConfig('nul-test', subgraphEnv(0), { NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  let testDb: TestDatabase;
  let subgraph: Subgraph<object>;
  let url: string;
  let resolverCalls = 0;

  beforeAll(async () => {
    testDb = await createTestDatabase('nul_guard');
    await testDb.database.exec('create table notes (id text primary key, text text not null)');
    const { database } = testDb;
    // One INSERT per note, as a careless resolver would: a NUL in the second would leave the first stored.
    const addNotes = async (_p: unknown, { input }: { input: { id: string; text: string }[] }) => {
      resolverCalls += 1;
      for (const note of input) await database.rows(sql`insert into notes (id, text) values (${note.id}, ${note.text})`);
      return input.length;
    };
    const resolvers = {
      Query: { echo: (_p: unknown, { text }: { text: string }) => text },
      Mutation: {
        addNotes,
        addRaw: async (_p: unknown, { value }: { value: { id: string; text: string } }) => addNotes(_p, { input: [value] }),
      },
    };
    subgraph = createSubgraph({ name: 'nul', typeDefs, resolvers, config, database, createLoaders: () => ({}), log });
    ({ url } = await subgraph.listen(0, '127.0.0.1'));
  });
  afterAll(async () => {
    await subgraph?.stop();
    await testDb?.drop();
  });

  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
  };
  const stored = async () => (await testDb.database.rows<{ id: string }>(sql`select id from notes order by id`)).map((row) => row.id);

  it.each([
    ['a variable inside a list of input objects', 'mutation($input: [NoteInput!]!) { addNotes(input: $input) }', { input: [{ id: 'n1', text: 'fine' }, { id: 'n2', text: 'bad\u0000' }] }, '$input[1].text'],
    ['a literal inside a list of input objects', 'mutation { addNotes(input: [{ id: "n1", text: "fine" }, { id: "n2\\u0000", text: "x" }]) }', {}, 'addNotes.input[1].id'],
    ['a custom scalar (JSON) variable', 'mutation($v: Json!) { addRaw(value: $v) }', { v: { id: 'n1', text: '\u0000' } }, '$v.text'],
  ])('%s: 400 BAD_USER_INPUT naming the input, no resolver called, nothing stored', async (_case, query, variables, where) => {
    const before = resolverCalls;
    const { status, body } = await post(query, variables);
    expect(status).toBe(400);
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', field: where.replace(/^\$/, '') });
    expect(body.errors![0]!.message).toBe(`Text may not contain the NUL character (U+0000); received one in ${where}`);
    expect(resolverCalls).toBe(before);
    expect(await stored()).toEqual([]);
  });

  it('still answers the same operations without the NUL (the test can fail)', async () => {
    const { status, body } = await post('mutation($input: [NoteInput!]!) { addNotes(input: $input) }', { input: [{ id: 'ok1', text: 'a\u0001b' }] });
    expect(status).toBe(200);
    expect(body).toEqual({ data: { addNotes: 1 } });
    expect(await stored()).toEqual(['ok1']);
    expect((await post('{ echo(text: "中文") }')).body).toEqual({ data: { echo: '中文' } });
  });

  it('keeps parse and validation errors first', async () => {
    const { status, body } = await post('{ nope(text: "\\u0000") }');
    expect(status).toBe(400);
    expect(body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

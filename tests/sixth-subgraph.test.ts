// A sixth subgraph built the way docs/adding-a-subgraph.md says, in a temporary folder: defineSubgraph over an SDL
// file, a resolver map, a loader and one migration. It migrates on PGlite, answers on port 0, and composes with the
// five real subgraphs of supergraph.yaml.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDatabase,
  defineSubgraph,
  keyedLoader,
  loadConfig,
  subgraphEnv,
  unauthenticated,
  type Database,
  type SubgraphConfig,
  type SubgraphContext,
} from '@suoke/platform';
import { testToken } from '@suoke/platform/testing';
import { compose, readSupergraphConfig } from '../scripts/supergraph-config.mjs';

const SDL = /* GraphQL */ `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated"])

"""
A line a user wrote in their journal.
"""
type JournalEntry @key(fields: "id") {
  id: ID!
  text: String!
}

"""
A user, owned by the user subgraph; this subgraph adds their journal.
"""
type User @key(fields: "id") {
  id: ID!
  """
  The user's journal, oldest first. Only the user reads it.
  """
  journal: [JournalEntry!]! @authenticated
}

type Mutation {
  """
  Adds a line to the caller's journal.
  """
  writeJournal(text: String!): JournalEntry! @authenticated
}
`;

const MIGRATION = `
create table "journal".entries (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null,
  text text not null,
  created_at timestamptz not null default clock_timestamp()
);
create index entries_user on "journal".entries (user_id, created_at);
`;

// ---- config.ts ----
const env = subgraphEnv(4006);
type JournalConfig = SubgraphConfig;
const loadJournalConfig = (source: NodeJS.ProcessEnv = process.env): JournalConfig => loadConfig('journal', env, source);

// ---- loaders.ts ----
interface EntryRow extends Record<string, unknown> {
  id: string;
  user_id: string;
  text: string;
}
function createLoaders(database: Database) {
  return {
    entriesByUser: keyedLoader<string, EntryRow[], EntryRow>(
      (userIds) =>
        database.rows<EntryRow>(
          sql`select id, user_id, text from "journal".entries where user_id = any(${sql.param([...userIds])}::uuid[]) order by created_at`,
        ),
      (row) => row.user_id,
      { missing: [], collect: 'many', map: (rows) => rows },
    ),
  };
}
type Context = SubgraphContext<ReturnType<typeof createLoaders>>;

// ---- resolvers/index.ts ----
const resolvers = {
  User: {
    journal: (user: { id: string }, _args: unknown, ctx: Context) => {
      if (ctx.user?.id !== user.id) return [];
      return ctx.loaders.entriesByUser.load(user.id);
    },
  },
  Mutation: {
    writeJournal: async (_parent: unknown, { text }: { text: string }, ctx: Context) => {
      if (!ctx.user) throw unauthenticated();
      const [row] = await ctx.database.rows<EntryRow>(sql`insert into "journal".entries (user_id, text) values (${ctx.user.id}, ${text}) returning id, user_id, text`);
      return row;
    },
  },
};

describe('a sixth subgraph from defineSubgraph', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'suoke-journal-'));
  let database: Database;
  let url: string;
  let stop: () => Promise<void>;

  // ---- server.ts ----
  mkdirSync(path.join(dir, 'src', 'db', 'migrations'), { recursive: true });
  writeFileSync(path.join(dir, 'src', 'schema.graphql'), SDL);
  writeFileSync(path.join(dir, 'src', 'db', 'migrations', '0001_journal.sql'), MIGRATION);
  const definition = defineSubgraph({
    name: 'journal',
    schema: pathToFileURL(path.join(dir, 'src', 'schema.graphql')),
    loadConfig: loadJournalConfig,
    migrations: pathToFileURL(path.join(dir, 'src', 'db', 'migrations') + '/'),
    resolvers,
    loaders: createLoaders,
  });

  beforeAll(async () => {
    database = await createDatabase({ service: 'journal', pgliteDataDir: 'memory://' });
    const migrated = await definition.migrate(database);
    expect(migrated.applied).toEqual(['0001_journal.sql']);
    const subgraph = definition.create({ config: definition.loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' }), database });
    ({ url } = await subgraph.listen(0, '127.0.0.1'));
    stop = () => subgraph.stop();
  });
  afterAll(async () => {
    await stop?.();
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function gql(query: string, variables: Record<string, unknown>, token?: string) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: { extensions?: { code?: string } }[] };
  }

  it('migrates once: a second run applies nothing', async () => {
    expect(await definition.migrate(database)).toMatchObject({ applied: [], skipped: ['0001_journal.sql'] });
  });

  it('writes through its resolver and reads through its loader, as an entity the gateway resolves', async () => {
    const id = randomUUID();
    const token = await testToken({ id });
    for (const text of ['slept well', 'walked 6 km']) {
      const written = await gql('mutation ($text: String!) { writeJournal(text: $text) { id text } }', { text }, token);
      expect(written.errors).toBeUndefined();
      expect(written.data.writeJournal.text).toBe(text);
    }
    const entities = /* GraphQL */ `query ($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id journal { text } } } }`;
    const read = await gql(entities, { reps: [{ __typename: 'User', id }] }, token);
    expect(read.errors).toBeUndefined();
    expect(read.data._entities).toEqual([{ id, journal: [{ text: 'slept well' }, { text: 'walked 6 km' }] }]);
    // @authenticated is enforced by the subgraph itself.
    const anonymous = await gql(entities, { reps: [{ __typename: 'User', id }] });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('composes with the five subgraphs of supergraph.yaml', () => {
    const { subgraphs } = readSupergraphConfig();
    expect(subgraphs.map((s) => s.name).sort()).toEqual(['agent', 'diagnosis', 'health', 'knowledge', 'user']);
    const result = compose([...subgraphs, { name: 'journal', routingUrl: 'http://localhost:4006/graphql', schemaFile: path.join(dir, 'src', 'schema.graphql') }]);
    expect(result.errors).toBeUndefined();
    expect(result.supergraphSdl).toMatch(/type JournalEntry\b/);
    expect(result.supergraphSdl).toMatch(/journal: \[JournalEntry!\]! @join__field\(graph: JOURNAL\)/);
  });
});

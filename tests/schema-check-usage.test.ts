// Usage-aware schema checks (issue 22): `schema:check --usage` run as a
// subprocess against usage exports and trusted document manifests written here,
// candidate SDLs made from the committed agent SDL, and the committed supergraph.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSchema, parse, parseType, print } from 'graphql';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffApiSchemas } from '../scripts/schema-check.mjs';
import { classifyBreaking, coordinatesOfDocument, loadUsage } from '../scripts/schema-check-usage.mjs';
import { repoRoot } from '../scripts/supergraph-config.mjs';

const DAY = 86_400_000;
const iso = (msAgo: number) => new Date(Date.now() - msAgo).toISOString();

let fixture: string;
let files = 0;

function committed(file: string): string {
  try {
    return execFileSync('git', ['show', `HEAD:${file}`], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return readFileSync(path.join(repoRoot, file), 'utf8');
  }
}

function put(file: string, text: string): string {
  const target = path.join(fixture, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  return target;
}

beforeAll(() => {
  fixture = mkdtempSync(path.join(tmpdir(), 'schema-check-usage-'));
  const yaml = committed('supergraph.yaml');
  put('supergraph.yaml', yaml);
  for (const subgraph of Object.values<{ schema: { file: string } }>(YAML.parse(yaml).subgraphs)) {
    put(subgraph.schema.file, committed(path.normalize(subgraph.schema.file)));
  }
  put('schema/supergraph.graphql', committed('schema/supergraph.graphql'));
});
afterAll(() => rmSync(fixture, { recursive: true, force: true }));

/** The committed agent SDL with `edit` applied to one type's definition node. */
function agentCandidate(typeName: string, edit: (type: any) => any): string {
  const doc = parse(readFileSync(path.join(fixture, 'subgraphs/agent/src/schema.graphql'), 'utf8'));
  let found = false;
  const definitions = doc.definitions.map((d: any) => {
    if (d.name?.value !== typeName || !/TypeDefinition$/.test(d.kind)) return d;
    found = true;
    return edit(d);
  });
  if (!found) throw new Error(`the agent SDL has no type ${typeName}`);
  files += 1;
  return put(`candidates/agent-${files}.graphql`, print({ ...doc, definitions }));
}
const withoutDegraded = () => agentCandidate('Message', (t) => ({ ...t, fields: t.fields.filter((f: any) => f.name.value !== 'degraded') }));
/** Conversation.messages(first: Int) → String: an incompatible argument type change. */
const firstAsString = () => agentCandidate('Conversation', (t) => ({
  ...t,
  fields: t.fields.map((f: any) => f.name.value !== 'messages' ? f : {
    ...f, arguments: f.arguments.map((a: any) => (a.name.value === 'first' ? { ...a, type: parseType('String') } : a)),
  }),
}));

type Row = { client: string; version: string; operation: string; count: number; firstSeen: string; lastSeen: string };
const row = (client: string, version: string, operation: string, count: number, lastSeenMsAgo: number): Row =>
  ({ client, version, operation, count, firstSeen: iso(lastSeenMsAgo + DAY), lastSeen: iso(lastSeenMsAgo) });

/** A usage export as `npm run usage -- --export --days 30` writes it. */
function usageFile(coordinates: Record<string, Row[]>, overrides: Record<string, unknown> = {}): string {
  files += 1;
  const body = {
    format: 'suoke-usage', version: 1, exportedAt: iso(0), from: iso(30 * DAY), to: iso(0),
    coordinates: Object.fromEntries(Object.entries(coordinates).map(([c, rows]) => [c, rows.map((r) => ({ ...r, signature: 'a'.repeat(64) }))])),
    ...overrides,
  };
  return put(`usage/export-${files}.json`, JSON.stringify(body));
}

/** The app's ConversationMessages as a trusted document owned by suoke-app (Apollo's manifest form). */
function trustedManifest(): string {
  const body = readFileSync(path.join(repoRoot, 'clients/app/operations/chat.graphql'), 'utf8');
  const operation = print(parse(body).definitions.find((d: any) => d.name?.value === 'ConversationMessages')!);
  files += 1;
  return put(`trusted/manifest-${files}.json`, JSON.stringify({
    format: 'apollo-persisted-query-manifest', version: 1, clientName: 'suoke-app',
    operations: [{ id: 'b'.repeat(64), name: 'ConversationMessages', type: 'query', body: operation }],
  }));
}

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', USER: 'dev-one' };
  const argv = [
    path.join(repoRoot, 'scripts/schema-check.mjs'),
    ...args, '--config', path.join(fixture, 'supergraph.yaml'), '--against', path.join(fixture, 'schema/supergraph.graphql'),
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: repoRoot, env: { ...base, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}
const noDocs = ['--trusted-documents', 'none'];

describe('schema:check --usage, through the CLI', () => {
  it('a field that only an old client version used before the window: the removal passes, listed as unused', async () => {
    const usage = usageFile({ 'Message.degraded': [row('suoke-app', '1.0.0', 'ConversationMessages', 900, 12 * DAY)] });
    const { code, stdout } = await cli(['agent', '--sdl', withoutDegraded(), '--usage', '--days', '7', '--usage-file', usage, ...noDocs]);
    expect(stdout).toMatch(/BREAKING, UNUSED \(1\)\n {2}✓ FIELD_REMOVED {2}Message\.degraded/);
    expect(stdout).toContain('unused: no usage of Message.degraded in the window');
    expect(stdout).toMatch(/^PASS: 1 breaking change\(s\), none used in the last 7 day\(s\)/m);
    expect(code).toBe(0);
    // The same export over a 30-day window sees that version: the removal fails.
    const wider = await cli(['agent', '--sdl', withoutDegraded(), '--usage', '--days', '30', '--usage-file', usage, ...noDocs]);
    expect(wider.stdout).toContain('suoke-app 1.0.0  operation ConversationMessages  900×');
    expect(wider.code).toBe(1);
  });

  it('a field used yesterday: the removal fails, naming each client, version and operation with counts and last seen', async () => {
    const yesterday = row('suoke-app', '2.3.0', 'ConversationMessages', 42, DAY);
    const usage = usageFile({
      'Message.degraded': [yesterday, row('suoke-admin', '0.9.1', 'Moderation', 3, 2 * DAY), row('suoke-app', '1.0.0', 'Old', 7, 20 * DAY)],
      'Message.id': [row('suoke-app', '2.3.0', 'ConversationMessages', 42, DAY)],
    });
    const { code, stdout } = await cli(['agent', '--sdl', withoutDegraded(), '--usage', '--usage-file', usage, ...noDocs]);
    expect(stdout).toMatch(/BREAKING, USED \(1\)\n {2}✗ FIELD_REMOVED {2}Message\.degraded/);
    expect(stdout).toContain('used: 45 use(s) of Message.degraded in the window:');
    expect(stdout).toContain(`suoke-app 2.3.0  operation ConversationMessages  42×  last seen ${yesterday.lastSeen}`);
    expect(stdout).toContain('suoke-admin 0.9.1  operation Moderation  3×');
    expect(stdout).not.toContain('operation Old'); // before the window
    expect(stdout).toMatch(/^FAIL: 1 of 1 breaking change\(s\) used in the last 7 day\(s\)/m);
    expect(code).toBe(1);

    const json = await cli(['agent', '--sdl', withoutDegraded(), '--usage', '--usage-file', usage, '--json', ...noDocs]);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ passed: false, exitCode: 1, usage: { days: 7, minCount: 1, used: 1 } });
    expect(report.breaking[0].usage).toMatchObject({ used: true, count: 45, rows: [expect.objectContaining({ client: 'suoke-app', version: '2.3.0', operation: 'ConversationMessages', count: 42 }), expect.anything()] });
  });

  it('an argument type a trusted document uses: the change fails naming the document and its owner, with no traffic at all', async () => {
    const empty = usageFile({});
    const { code, stdout } = await cli(['agent', '--sdl', firstAsString(), '--usage', '--usage-file', empty, '--trusted-documents', trustedManifest()]);
    expect(stdout).toMatch(/✗ ARG_CHANGED_KIND {2}Conversation\.messages\(first:\)/);
    expect(stdout).toContain('used: 0 use(s) of Conversation.messages(first:) in the window, and 1 trusted document(s):');
    expect(stdout).toContain('trusted document ConversationMessages (suoke-app)');
    expect(stdout).toMatch(/trusted documents: .*manifest-\d+\.json \(1\)/);
    expect(code).toBe(1);
    // Without the manifest nothing uses it: the document is what failed the check.
    const without = await cli(['agent', '--sdl', firstAsString(), '--usage', '--usage-file', empty, ...noDocs]);
    expect(without.code).toBe(0);
    // TRUSTED_DOCUMENTS_PATH names the manifest the gateway serves: the check reads the same.
    const fromEnv = await cli(['agent', '--sdl', firstAsString(), '--usage', '--usage-file', empty], { TRUSTED_DOCUMENTS_PATH: trustedManifest() });
    expect(fromEnv.stdout).toContain('trusted document ConversationMessages (suoke-app)');
    expect(fromEnv.code).toBe(1);
  });

  it('--min-count: uses under it pass, at it fail', async () => {
    const usage = usageFile({ 'Message.degraded': [row('probe', '0.0.1', 'Probe', 2, DAY), row('probe', '0.0.2', 'Probe', 1, DAY)] });
    const under = await cli(['agent', '--sdl', withoutDegraded(), '--usage', '--min-count', '4', '--usage-file', usage, ...noDocs]);
    expect(under.stdout).toContain('unused: 3 use(s), under --min-count of Message.degraded in the window');
    expect(under.code).toBe(0);
    const at = await cli(['agent', '--sdl', withoutDegraded(), '--usage', '--min-count', '3', '--usage-file', usage, ...noDocs]);
    expect(at.stdout).toContain('probe 0.0.1  operation Probe  2×');
    expect(at.code).toBe(1);
  });

  it('a bad export: exit 2, saying what is wrong', async () => {
    const cases: [string, string | RegExp][] = [
      [usageFile({}, { format: 'hive-usage' }), 'format is "hive-usage", expected "suoke-usage"'],
      [usageFile({}, { version: 2 }), 'version is 2, this check reads version 1'],
      [usageFile({ 'Message.degraded': [{ client: 'x' } as Row] }), /coordinates\["Message\.degraded"\]\[0\]\.version must be a string/],
      [usageFile({}, { from: iso(6 * DAY) }), /covers .* but --days 7 asks for usage since .*: export with --days 7 or more/],
      [put('usage/broken.json', '{"format": "suoke-usage",'), /is not JSON .*npm run usage -- --export --out/],
      [path.join(fixture, 'usage/missing.json'), /usage file .*missing\.json: ENOENT/],
    ];
    for (const [file, message] of cases) {
      const { code, stdout, stderr } = await cli(['agent', '--sdl', withoutDegraded(), '--usage', '--usage-file', file, ...noDocs]);
      expect(stderr).toMatch(message);
      expect(stdout).toBe('');
      expect(code, file).toBe(2);
    }
  });

  it('--allow-breaking exits 0 and logs who accepted which breaks, used first, on stderr and in --json', async () => {
    const usage = usageFile({ 'Message.degraded': [row('suoke-app', '2.3.0', 'ConversationMessages', 42, DAY)] });
    const sdl = agentCandidate('Message', (t) => ({
      ...t, fields: t.fields.filter((f: any) => f.name.value !== 'degraded' && f.name.value !== 'provider'),
    }));
    const { code, stdout, stderr } = await cli(['agent', '--sdl', sdl, '--usage', '--usage-file', usage, '--allow-breaking', ...noDocs], { GITHUB_ACTOR: 'octo-dev' });
    expect(stderr).toMatch(/^schema check: --allow-breaking used by octo-dev at \d{4}-\d\d-\d\dT[^ ]+Z on agent: 2 breaking change\(s\) accepted; USED: FIELD_REMOVED Message\.degraded; unused: FIELD_REMOVED Message\.provider$/m);
    expect(stdout).toMatch(/^PASS \(--allow-breaking\): 2 breaking change/m);
    expect(code).toBe(0);

    const json = await cli(['agent', '--sdl', sdl, '--usage', '--usage-file', usage, '--allow-breaking', '--json', ...noDocs]);
    expect(JSON.parse(json.stdout).allowBreakingLog).toMatchObject({
      by: 'dev-one', subgraph: 'agent',
      accepted: [{ kind: 'FIELD_REMOVED', coordinate: 'Message.degraded', used: true }, { kind: 'FIELD_REMOVED', coordinate: 'Message.provider', used: false }],
    });
    // Without --usage too: the flag's use is always on record.
    const plain = await cli(['agent', '--sdl', sdl, '--allow-breaking']);
    expect(plain.stderr).toMatch(/--allow-breaking used by dev-one .* 2 breaking change\(s\) accepted; not checked against usage: /);
  });

  it('without --usage the check is unchanged: a used removal still just fails as breaking', async () => {
    const { code, stdout } = await cli(['agent', '--sdl', withoutDegraded()]);
    expect(stdout).toMatch(/^BREAKING \(1\)$/m);
    expect(stdout).not.toContain('usage:');
    expect(code).toBe(1);
  });
});

describe('loadUsage: one function for both sources', () => {
  it('reads the store through a module exporting exportUsage({ days, env, now }), and explains a missing one', async () => {
    const calls: unknown[] = [];
    const module = put('store/index.mjs', `export async function exportUsage(o) {
      globalThis.__calls.push({ days: o.days, url: o.env.USAGE_DATABASE_URL, now: o.now.toISOString() });
      return { format: 'suoke-usage', version: 1, exportedAt: o.now.toISOString(), from: o.now.toISOString(), to: o.now.toISOString(), coordinates: {} };
    }`);
    (globalThis as any).__calls = calls;
    const now = new Date('2026-12-07T12:00:00.000Z');
    const loaded = await loadUsage({ days: 7, env: { USAGE_DATABASE_URL: 'postgres://x/y' }, now, storeModule: module });
    expect(loaded).toMatchObject({ source: 'the usage store', export: { format: 'suoke-usage', coordinates: {} } });
    expect(calls).toEqual([{ days: 7, url: 'postgres://x/y', now: now.toISOString() }]);
    // A built gateway's layout (dist/usage/index.js beside src/usage/index.ts): missing means not built yet.
    put('gw/src/usage/index.ts', '');
    await expect(loadUsage({ days: 7, storeModule: path.join(fixture, 'gw/dist/usage/index.js') })).rejects.toThrow(/usage store's reader .*index\.js is missing: run `npm run build` first/);
    await expect(loadUsage({ days: 7, storeModule: path.join(fixture, 'other/dist/usage/index.js') })).rejects.toThrow(/this checkout has no usage store/);
  });
});

describe('what a breaking change affects', () => {
  const before = buildSchema(`
    enum Kind { A B }
    input Filter { kind: Kind, tag: String }
    type P { id: ID! } type Q { id: ID! } union PQ = P | Q
    type Query { list(filter: Filter, first: Int): [PQ!]! kinds: [Kind!]! }
  `);
  const after = buildSchema(`
    enum Kind { A }
    input Filter { kind: Kind, tag: String, locale: String! }
    type P { id: ID! } type Q { id: ID! } union PQ = P
    type Query { list(filter: Filter, first: Int, region: String!): [PQ!]! kinds: [Kind!]! }
  `);
  const { breaking } = diffApiSchemas(before, after);
  const usedBy = (doc: string) => {
    const trusted = [{ id: 'x', operation: 'Doc', client: null, coordinates: coordinatesOfDocument(before, parse(doc)) }];
    const usage = { format: 'suoke-usage', version: 1, exportedAt: iso(0), from: iso(DAY), to: iso(0), coordinates: {} };
    return classifyBreaking(breaking, { oldSchema: before, usage, trusted, days: 1, minCount: 1 })
      .filter((c: any) => c.usage.used).map((c: any) => `${c.kind} ${c.coordinate}`);
  };

  it('required arg on the field, required input field on the input type, union change on the union, enum value only where written', () => {
    expect(usedBy('{ kinds }')).toEqual([]);
    // Any selection of a PQ field sees the union lose a member: results of that type stop coming.
    expect(usedBy('{ list { __typename } }').sort()).toEqual(['REQUIRED_ARG_ADDED Query.list(region:)', 'TYPE_REMOVED_FROM_UNION PQ']);
    expect(usedBy('query($f: Filter) { list(filter: $f) { __typename } }').sort()).toEqual([
      'REQUIRED_ARG_ADDED Query.list(region:)', 'REQUIRED_INPUT_FIELD_ADDED Filter.locale', 'TYPE_REMOVED_FROM_UNION PQ',
    ]);
    expect(usedBy('{ list(filter: { kind: A }) { ... on P { id } } }')).not.toContain('VALUE_REMOVED_FROM_ENUM Kind.B');
    expect(usedBy('{ list(filter: { kind: B }) { ... on Q { id } } }').sort()).toEqual([
      'REQUIRED_ARG_ADDED Query.list(region:)', 'REQUIRED_INPUT_FIELD_ADDED Filter.locale', 'TYPE_REMOVED_FROM_UNION PQ', 'VALUE_REMOVED_FROM_ENUM Kind.B',
    ]);
  });

  it('coordinates of a document: fields on the interface and on the fragment type, arguments, input fields, enum values, variable types', () => {
    const schema = buildSchema(`
      interface Node { id: ID! } type User implements Node { id: ID! name(locale: Locale = ZH): String! }
      enum Locale { ZH EN } input Find { id: ID!, locale: Locale }
      type Query { node(find: Find!): Node }
    `);
    const used = coordinatesOfDocument(schema, parse(`query($l: Locale) { node(find: { id: "1", locale: EN }) { id __typename ... on User { name(locale: $l) } } }`));
    expect([...used].sort()).toEqual([
      'Find', 'Find.id', 'Find.locale', 'Locale', 'Locale.EN', 'Node', 'Node.id', 'Query', 'Query.node', 'Query.node(find:)', 'String', 'User', 'User.name', 'User.name(locale:)', 'ID',
    ].sort());
  });
});

import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSchema, parse, parseType, print, type DocumentNode } from 'graphql';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSubgraph, diffApiSchemas, formatReport } from '../scripts/schema-check.mjs';
import { repoRoot } from '../scripts/supergraph-config.mjs';

// The check runs against a snapshot of the committed schemas (git HEAD): the working
// tree is shared with sessions whose SDL edits are not composed yet, and the check
// must be judged against a supergraph that agrees with its subgraphs.
let fixture: string;
let config: string;
let baseline: string;
let agentSdl: string;
let candidates = 0;

function committed(file: string): string {
  try {
    return execFileSync('git', ['show', `HEAD:${file}`], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return readFileSync(path.join(repoRoot, file), 'utf8'); // no git (a source tarball): the files as they are
  }
}

function put(file: string, text: string): string {
  const target = path.join(fixture, file);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  return target;
}

beforeAll(() => {
  fixture = mkdtempSync(path.join(tmpdir(), 'schema-check-'));
  const yaml = committed('supergraph.yaml');
  config = put('supergraph.yaml', yaml);
  for (const subgraph of Object.values<{ schema: { file: string } }>(YAML.parse(yaml).subgraphs)) {
    put(subgraph.schema.file, committed(path.normalize(subgraph.schema.file)));
  }
  baseline = put('schema/supergraph.graphql', committed('schema/supergraph.graphql'));
  agentSdl = readFileSync(path.join(fixture, 'subgraphs/agent/src/schema.graphql'), 'utf8');
});

afterAll(() => rmSync(fixture, { recursive: true, force: true }));

// --- candidate SDLs: the committed agent SDL with edits; each edit fails if its target is gone ---

type Edit = (doc: DocumentNode) => DocumentNode;
type Named = { name?: { value: string } };

function without<T extends Named>(list: readonly T[] | undefined, name: string): T[] {
  if (!list?.some((item) => item.name?.value === name)) throw new Error(`the agent SDL has no ${name} to edit`);
  return list.filter((item) => item.name?.value !== name);
}

function onType(name: string, change: (node: any) => any): Edit {
  return (doc) => {
    let found = false;
    const definitions = doc.definitions.map((d: any) => {
      if (d.name?.value !== name || !/TypeDefinition$/.test(d.kind)) return d;
      found = true;
      return change(d);
    });
    if (!found) throw new Error(`the agent SDL has no type ${name}`);
    return { ...doc, definitions };
  };
}

const onField = (type: string, field: string, change: (node: any) => any): Edit =>
  onType(type, (t) => {
    without(t.fields, field);
    return { ...t, fields: t.fields.map((f: any) => (f.name.value === field ? change(f) : f)) };
  });

const removeType = (name: string): Edit => (doc) => ({ ...doc, definitions: without(doc.definitions as any, name) as any });
const removeField = (type: string, field: string) => onType(type, (t) => ({ ...t, fields: without(t.fields, field) }));
const removeEnumValue = (type: string, value: string) => onType(type, (t) => ({ ...t, values: without(t.values, value) }));
const removeArg = (type: string, field: string, arg: string) => onField(type, field, (f) => ({ ...f, arguments: without(f.arguments, arg) }));
const setFieldType = (type: string, field: string, to: string) => onField(type, field, (f) => ({ ...f, type: parseType(to) }));
const setArgType = (type: string, field: string, arg: string, to: string) =>
  onField(type, field, (f) => {
    without(f.arguments, arg);
    return { ...f, arguments: f.arguments.map((a: any) => (a.name.value === arg ? { ...a, type: parseType(to) } : a)) };
  });
const fieldDef = (sdl: string) => (parse(`type T { ${sdl} }`).definitions[0] as any).fields[0];
const addField = (type: string, sdl: string) => onType(type, (t) => ({ ...t, fields: [...t.fields, fieldDef(sdl)] }));
const addArg = (type: string, field: string, sdl: string) =>
  onField(type, field, (f) => ({ ...f, arguments: [...(f.arguments ?? []), fieldDef(`f(${sdl}): Int`).arguments[0]] }));
const addEnumValue = (type: string, sdl: string) =>
  onType(type, (t) => ({ ...t, values: [...t.values, (parse(`enum E { ${sdl} }`).definitions[0] as any).values[0]] }));

/** Writes the committed agent SDL with the edits applied; returns its path. */
function candidate(...edits: Edit[]): string {
  const doc = edits.reduce((d, edit) => edit(d), parse(agentSdl));
  candidates += 1;
  return put(`candidates/agent-${candidates}.graphql`, print(doc));
}

const check = (sdlFile?: string, subgraph = 'agent') => checkSubgraph({ subgraph, sdlFile, configFile: config, baselineFile: baseline });

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'scripts/schema-check.mjs'), ...args], { cwd: repoRoot }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}
const against = () => ['--config', config, '--against', baseline];

describe('schema check: the committed schemas', () => {
  it('every subgraph as committed composes to exactly the committed API schema', () => {
    for (const subgraph of ['user', 'health', 'knowledge', 'agent', 'diagnosis']) {
      const result = check(undefined, subgraph);
      expect(result, subgraph).toMatchObject({ compositionErrors: [], breaking: [], dangerous: [], safe: [], passed: true });
    }
  });

  it('the CLI without --sdl checks the subgraph file from supergraph.yaml and passes', async () => {
    const { code, stdout } = await cli('agent', ...against());
    expect(stdout).toContain('subgraphs/agent/src/schema.graphql');
    expect(stdout).toContain('PASS: no breaking changes; the API schema is unchanged');
    expect(code).toBe(0);
  });
});

describe('schema check: each kind of break fails', () => {
  const cases: [string, () => Edit[], Record<string, unknown>][] = [
    ['a removed type', () => [removeField('Message', 'provider'), removeType('ReplyProvider')],
      { kind: 'TYPE_REMOVED', coordinate: 'ReplyProvider', old: 'enum', new: null }],
    ['a removed field', () => [removeField('Message', 'degraded')],
      { kind: 'FIELD_REMOVED', coordinate: 'Message.degraded', old: 'Boolean!', new: null }],
    ['a removed argument', () => [removeArg('Conversation', 'messages', 'after')],
      { kind: 'ARG_REMOVED', coordinate: 'Conversation.messages(after:)', old: 'String', new: null }],
    ['a removed enum value', () => [removeEnumValue('MessageRole', 'AGENT')],
      { kind: 'VALUE_REMOVED_FROM_ENUM', coordinate: 'MessageRole.AGENT', old: 'AGENT', new: null }],
    ['a changed field type', () => [setFieldType('Agent', 'capabilities', 'String!')],
      { kind: 'FIELD_CHANGED_KIND', coordinate: 'Agent.capabilities', old: '[String!]!', new: 'String!', description: 'field type changed incompatibly' }],
    ['an output field made nullable', () => [setFieldType('Agent', 'nameEn', 'String')],
      { kind: 'FIELD_CHANGED_KIND', coordinate: 'Agent.nameEn', old: 'String!', new: 'String', description: expect.stringMatching(/^output made nullable/) }],
    ['an argument made required', () => [setArgType('Conversation', 'messages', 'first', 'Int!')],
      { kind: 'ARG_CHANGED_KIND', coordinate: 'Conversation.messages(first:)', old: 'Int', new: 'Int!', description: expect.stringMatching(/^argument made required/) }],
    ['a required argument added', () => [addArg('Query', 'agents', '"""Language."""\nlocale: String!')],
      { kind: 'REQUIRED_ARG_ADDED', coordinate: 'Query.agents(locale:)', old: null, new: 'String!' }],
    ['an input field made required', () => [setFieldType('SendMessageInput', 'conversationId', 'ID!')],
      { kind: 'FIELD_CHANGED_KIND', coordinate: 'SendMessageInput.conversationId', old: 'ID', new: 'ID!', description: expect.stringMatching(/^input field made required/) }],
    ['a required input field added', () => [addField('SendMessageInput', '"""Language."""\nlocale: String!')],
      { kind: 'REQUIRED_INPUT_FIELD_ADDED', coordinate: 'SendMessageInput.locale', old: null, new: 'String!' }],
  ];

  it.each(cases)('%s', (_name, edits, expected) => {
    const result = check(candidate(...edits()));
    expect(result.compositionErrors).toEqual([]);
    expect(result.passed).toBe(false);
    expect(result.breaking).toContainEqual(expect.objectContaining(expected));
    expect(result.breaking.every((c: { coordinate: string }) => c.coordinate !== '?')).toBe(true);
  });

  it('the CLI reports each break with kind, coordinate and old → new, and exits 1', async () => {
    const { code, stdout } = await cli('agent', '--sdl', candidate(removeField('Message', 'degraded')), ...against());
    expect(stdout).toMatch(/BREAKING \(1\)\n {2}✗ FIELD_REMOVED {2}Message\.degraded\n {6}field removed: .*\n {6}Boolean! → \(absent\)/);
    expect(stdout).toMatch(/^FAIL: 1 breaking change/m);
    expect(code).toBe(1);
  });

  it('--allow-breaking exits 0 and still lists the breaks', async () => {
    const { code, stdout } = await cli('agent', '--sdl', candidate(setFieldType('Agent', 'nameEn', 'String')), '--allow-breaking', ...against());
    expect(stdout).toContain('✗ FIELD_CHANGED_KIND  Agent.nameEn');
    expect(stdout).toContain('String! → String');
    expect(stdout).toMatch(/^PASS \(--allow-breaking\): 1 breaking change/m);
    expect(code).toBe(0);
  });
});

describe('schema check: composition errors fail', () => {
  it('names the problem and the candidate file, whatever --allow-breaking says', async () => {
    const sdl = candidate(setFieldType('User', 'id', 'Int!'));
    const result = check(sdl);
    expect(result.passed).toBe(false);
    expect(result.compositionErrors.join('\n')).toMatch(/"User\.id"/);
    expect(result.compositionErrors.join('\n')).toContain(path.basename(sdl));

    const { code, stdout } = await cli('agent', '--sdl', sdl, '--allow-breaking', ...against());
    expect(stdout).toMatch(/FAIL: composition failed \(\d+ errors?\)/);
    expect(code).toBe(1);
  });

  it('an unknown subgraph or a missing file is a usage error (exit 2)', async () => {
    const unknown = await cli('agnet', ...against());
    expect(unknown.stderr).toContain('unknown subgraph "agnet": supergraph.yaml lists user, health, knowledge, agent, diagnosis');
    expect(unknown.code).toBe(2);
    expect(() => check(path.join(fixture, 'nope.graphql'))).toThrow(/candidate SDL must be a readable file; .*nope\.graphql: ENOENT/);
  });
});

describe('schema check: safe changes pass', () => {
  it('a new nullable field passes and is listed as the only change', async () => {
    const sdl = candidate(addField('Agent', '"""Link to the avatar image."""\navatarUrl: String'));
    const result = check(sdl);
    expect(result).toMatchObject({ compositionErrors: [], breaking: [], dangerous: [], passed: true });
    expect(result.safe).toEqual([{ kind: 'FIELD_ADDED', coordinate: 'Agent.avatarUrl', description: 'field added', old: null, new: 'String' }]);
    const text = formatReport(result);
    expect(text).toContain('+ FIELD_ADDED  Agent.avatarUrl');
    expect(text).toMatch(/^PASS: no breaking changes \(0 dangerous, 1 safe\)$/m);

    const { code, stdout } = await cli('agent', '--sdl', sdl, '--json', ...against());
    expect(JSON.parse(stdout)).toMatchObject({ subgraph: 'agent', passed: true, exitCode: 0, breaking: [], safe: result.safe });
    expect(code).toBe(0);
  });

  it('output made non-null and input made nullable are safe; an added enum value is a warning', () => {
    const result = check(candidate(
      setFieldType('Message', 'provider', 'ReplyProvider!'),
      setFieldType('SendMessageInput', 'agentId', 'ID'),
      addEnumValue('ReplyProvider', '"""A human."""\nHUMAN'),
    ));
    expect(result).toMatchObject({ compositionErrors: [], breaking: [], passed: true });
    expect(result.safe).toEqual(expect.arrayContaining([
      expect.objectContaining({ kind: 'FIELD_TYPE_CHANGED', coordinate: 'Message.provider', old: 'ReplyProvider', new: 'ReplyProvider!' }),
      expect.objectContaining({ kind: 'FIELD_TYPE_CHANGED', coordinate: 'SendMessageInput.agentId', old: 'ID!', new: 'ID' }),
    ]));
    expect(result.dangerous).toEqual([expect.objectContaining({ kind: 'VALUE_ADDED_TO_ENUM', coordinate: 'ReplyProvider.HUMAN' })]);
  });
});

describe('diffApiSchemas: what composition of this graph cannot easily produce', () => {
  const before = buildSchema(`
    interface Node { id: ID! }
    type A implements Node { id: ID! }
    type B { id: ID! }
    union AB = A | B
    type Shape { id: ID! }
    input Filter { limit: Int! = 20, order: String = "asc", tag: String }
    type Query { list(first: Int! = 20, after: String = "0", filter: Filter): [AB!]! shape: Shape }
  `);
  const after = buildSchema(`
    interface Node { id: ID! }
    type A { id: ID! }
    type B { id: ID! }
    union AB = A
    interface Shape { id: ID! }
    input Filter { limit: Int!, order: String = "desc", tag: String = "x" }
    type Query { list(first: Int!, after: String, filter: Filter): [AB!]! shape: Shape }
  `);
  const { breaking, dangerous, safe } = diffApiSchemas(before, after);
  const pick = (list: { kind: string; coordinate: string; old: string | null; new: string | null }[]) =>
    list.map(({ kind, coordinate, old, new: now }) => `${kind} ${coordinate}: ${old} → ${now}`);

  it('breaks: union member and interface removed, kind changed, defaults removed from non-null inputs', () => {
    expect(pick(breaking)).toEqual([
      'IMPLEMENTED_INTERFACE_REMOVED A: Node → (no interfaces)',
      'TYPE_REMOVED_FROM_UNION AB: A | B → A',
      'INPUT_FIELD_MADE_REQUIRED Filter.limit: Int! = 20 → Int!',
      'ARG_MADE_REQUIRED Query.list(first:): Int! = 20 → Int!',
      'TYPE_CHANGED_KIND Shape: object type → interface',
    ]);
  });

  it('warns: defaults changed or removed from nullable inputs; lists added defaults as safe', () => {
    expect(pick(dangerous)).toEqual([
      'INPUT_FIELD_DEFAULT_VALUE_CHANGE Filter.order: String = "asc" → String = "desc"',
      'ARG_DEFAULT_VALUE_CHANGE Query.list(after:): String = "0" → String',
    ]);
    expect(pick(safe)).toEqual(['INPUT_FIELD_DEFAULT_VALUE_ADDED Filter.tag: String → String = "x"']);
  });
});

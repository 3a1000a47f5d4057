import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSchema, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, Logger } from '@suoke/platform';
import { createTestDatabase, type TestDatabase } from '@suoke/platform/testing';
import {
  createUsageRecording,
  loadUsageConfig,
  capClientValue,
  mergeBatches,
  operationUsage,
  OVERFLOW,
  UNKNOWN,
  usageExport,
  UsageRecorder,
  UsageStore,
  windowOf,
  type OperationUsage,
} from '../src/usage/index.js';
import { loadGatewayConfig } from '../src/config.js';

// Coordinate extraction, the client caps and the store's batching, on a schema made for it
// (the supergraph has no interface) and on the store of this run's backend (PGlite or PostgreSQL).

const schema = buildSchema(`
  interface Node { id: ID! }
  enum Kind { PULSE SLEEP WEIGHT }
  enum Unit { METRIC IMPERIAL }
  input Range { from: String, to: String }
  input Filter { kind: Kind, kinds: [Kind!], range: Range, unit: Unit }
  type Reading implements Node { id: ID! kind: Kind! value(unit: Unit = METRIC): Float }
  type Person implements Node { id: ID! name: String readings(filter: Filter, first: Int): [Reading!]! secret: String }
  type Query { node(id: ID!): Node people(kind: Kind): [Person!]! me: Person }
  type Mutation { record(input: Filter!): Boolean }
`);

const usageOf = (text: string, operationName?: string) => operationUsage(parse(text), operationName, schema);
const variables = (usage: OperationUsage, values: Record<string, unknown>) => {
  const recorder = new UsageRecorder({ sampleRate: 1, maxClientsPerHour: 10 });
  recorder.record(usage, { name: 'c', version: '1' }, values);
  return recorder.drain().usage.map((r) => r.coordinate);
};

describe('coordinates an operation uses', () => {
  it('types, fields and arguments, through aliases and named fragments', () => {
    const usage = usageOf(`query Mine($first: Int) { me { who: name ...R } } fragment R on Person { readings(first: $first) { value(unit: IMPERIAL) } }`);
    expect(usage.operation).toBe('Mine');
    expect(usage.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(usage.coordinates).toEqual(
      expect.arrayContaining(['Query', 'Query.me', 'Person', 'Person.name', 'Person.readings', 'Person.readings(first:)', 'Reading.value', 'Reading.value(unit:)', 'Unit', 'Unit.IMPERIAL']),
    );
    // An alias is recorded under the field's name, never the alias; what is not selected is not used.
    expect(usage.coordinates).not.toContain('Person.who');
    expect(usage.coordinates).not.toContain('Person.secret');
    expect(usage.coordinates).not.toContain('Unit.METRIC');
  });

  it('a field selected through an interface is on the interface, and on the concrete type an inline fragment names', () => {
    const usage = usageOf(`{ node(id: "1") { id ... on Person { name } } }`);
    expect(usage.coordinates).toEqual(expect.arrayContaining(['Node', 'Node.id', 'Person', 'Person.name', 'Query.node', 'Query.node(id:)']));
    expect(usage.coordinates).not.toContain('Person.id');
  });

  it('enum literals and input fields in literals, nested', () => {
    const usage = usageOf(`mutation { record(input: { kind: SLEEP, range: { from: "a" } }) }`);
    expect(usage.operation).toBe('(anonymous)');
    expect(usage.coordinates).toEqual(
      expect.arrayContaining(['Mutation.record', 'Mutation.record(input:)', 'Filter', 'Filter.kind', 'Kind.SLEEP', 'Filter.range', 'Range', 'Range.from']),
    );
    expect(usage.coordinates).not.toContain('Range.to');
    expect(usage.coordinates).not.toContain('Kind.PULSE');
  });

  it('enum values and input fields that arrive in variables, at any depth; unknown keys and values are not coordinates', () => {
    const usage = usageOf(`mutation Rec($f: Filter!, $k: Kind) { record(input: $f) other: record(input: { kind: $k }) }`);
    expect(usage.variables.map((v) => v.name)).toEqual(['f', 'k']);
    const found = variables(usage, { f: { kinds: ['PULSE', 'WEIGHT'], range: { to: 'x' }, bogus: 1, unit: 'NOPE' }, k: 'SLEEP' });
    expect(found).toEqual(expect.arrayContaining(['Filter.kinds', 'Kind.PULSE', 'Kind.WEIGHT', 'Filter.range', 'Range.to', 'Kind.SLEEP', 'Filter.unit']));
    expect(found).not.toContain('Filter.bogus');
    expect(found).not.toContain('Unit.NOPE');
    expect(found).not.toContain('Range.from');
    // Scalar-only variables are never walked.
    expect(usageOf(`query($id: ID!) { node(id: $id) { id } }`).variables).toEqual([]);
  });

  it('@skip and @include(if: false) fields are still used: the document names them', () => {
    const usage = usageOf(`query($no: Boolean!) { me { name @skip(if: true) secret @include(if: $no) } }`);
    expect(usage.coordinates).toEqual(expect.arrayContaining(['Person.name', 'Person.secret']));
    // Directive arguments are not API coordinates a subgraph owns.
    expect(usage.coordinates.some((c) => c.includes('(if:)'))).toBe(false);
  });

  it('only the operation asked for, and only the fragments it reaches', () => {
    const text = `query A { me { ...N } } query B { people(kind: PULSE) { ...R } } fragment N on Person { name } fragment R on Person { readings { kind } }`;
    const a = usageOf(text, 'A');
    expect(a.coordinates).toContain('Person.name');
    expect(a.coordinates).not.toContain('Person.readings');
    expect(a.coordinates).not.toContain('Kind.PULSE');
    const b = usageOf(text, 'B');
    expect(b.coordinates).toEqual(expect.arrayContaining(['Query.people(kind:)', 'Kind.PULSE', 'Person.readings', 'Reading.kind']));
    expect(a.signature).not.toBe(b.signature);
  });
});

describe('clients', () => {
  it('the store keeps a client name and version as the context sent them, capped at 128 characters; missing is (unknown)', () => {
    expect(capClientValue('suoke-app')).toBe('suoke-app');
    expect(capClientValue(undefined)).toBe(UNKNOWN);
    expect(capClientValue('')).toBe(UNKNOWN);
    expect(capClientValue('x'.repeat(300))).toHaveLength(128);
  });

  it('at most USAGE_MAX_CLIENTS_PER_HOUR distinct pairs per hour bucket; later ones are (overflow), a new hour starts afresh', () => {
    const recorder = new UsageRecorder({ sampleRate: 1, maxClientsPerHour: 2 });
    const usage = usageOf('{ me { name } }');
    const hour = Date.UTC(2026, 11, 7, 10);
    for (const [name, version] of [['app', '1'], ['app', '2'], ['app', '3'], ['web', '1'], ['app', '1']] as const) recorder.record(usage, { name, version }, undefined, hour + 60_000);
    recorder.record(usage, { name: 'web', version: '1' }, undefined, hour + 3_600_000);
    const rows = recorder.drain(hour + 3_600_000).usage.filter((r) => r.coordinate === 'Person.name');
    const at = (h: number) => rows.filter((r) => r.hour === new Date(h).toISOString()).map((r) => `${r.client}@${r.version}:${r.count}`).sort();
    expect(at(hour)).toEqual(['(overflow)@(overflow):2', 'app@1:2', 'app@2:1']);
    expect(at(hour + 3_600_000)).toEqual(['web@1:1']);
    expect(OVERFLOW).toBe('(overflow)');
  });

  it('sampled counts are scaled by 1/rate', () => {
    const recorder = new UsageRecorder({ sampleRate: 0.25, maxClientsPerHour: 10 });
    const usage = usageOf('{ me { name } }');
    for (let i = 0; i < 3; i += 1) recorder.record(usage, { name: 'a', version: '1' }, undefined);
    expect(recorder.drain().usage.find((r) => r.coordinate === 'Person.name')?.count).toBe(12);
  });
});

describe('the store', () => {
  let testDb: TestDatabase;
  let store: UsageStore;
  const config = loadUsageConfig({ PGLITE_DATA_DIR: 'memory://' });

  beforeAll(async () => {
    testDb = await createTestDatabase('usage_unit');
    store = await UsageStore.open(config, { database: testDb.database });
  });
  afterAll(async () => {
    await testDb.drop();
  });

  const manyRows = (operations: number) => {
    const recorder = new UsageRecorder({ sampleRate: 1, maxClientsPerHour: 1_000 });
    for (let i = 0; i < operations; i += 1) {
      const usage = usageOf(`query Op${i} { me { name readings(first: ${i}) { kind } } }`);
      recorder.record(usage, { name: `client-${i % 7}`, version: String(i % 3) }, undefined);
      recorder.recordPlan({}, [[`Person.name`, `sub-${i % 4}`], ['Reading.kind', 'health']]);
    }
    return recorder.drain();
  };

  it('one statement per table per flush, whatever the number of rows; replicas writing the same rows add up', async () => {
    for (const operations of [1, 300]) {
      const batch = manyRows(operations);
      expect(batch.usage.length).toBeGreaterThanOrEqual(operations * 5);
      const before = testDb.database.stats.statements;
      await store.write(batch);
      expect(testDb.database.stats.statements - before).toBe(2);
    }
    const before = testDb.database.stats.statements;
    await store.write({ usage: [], subgraphs: [] });
    expect(testDb.database.stats.statements - before).toBe(0);
    // The same batch again (a second replica): counts add, first/last widen.
    const batch = manyRows(2);
    await store.write(batch);
    await store.write(batch);
    const op1 = (await store.entries(windowOf(1), 'Person.name')).filter((e) => e.operation === 'Op1');
    expect(op1.map((e) => e.count)).toEqual([3]);
  });

  it('replicas flushing overlapping rows at the same moment, in opposite orders, all add up (no deadlock)', async () => {
    const batch = manyRows(60);
    const reversed = { usage: [...batch.usage].reverse(), subgraphs: [...batch.subgraphs].reverse() };
    const total = async () => (await store.entries(windowOf(1), 'Person.name')).reduce((sum, e) => sum + e.count, 0);
    const perBatch = batch.usage.filter((r) => r.coordinate === 'Person.name').reduce((sum, r) => sum + r.count, 0);
    const before = await total();
    // On PostgreSQL these run on separate pooled connections, as replicas' flushes do.
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.write(i % 2 === 0 ? batch : reversed)));
    expect((await total()) - before).toBe(8 * perBatch);
  });

  it('a failed flush keeps its counts for the next one, and logs once', async () => {
    let failures = 2;
    const flaky: Database = {
      ...testDb.database,
      rows: (query) => (failures-- > 0 ? Promise.reject(new Error('connection refused')) : testDb.database.rows(query)),
    };
    const lines: string[] = [];
    const note = (_fields: unknown, message: string) => void lines.push(message);
    const log = { warn: note, info: note, error: note, debug: note } as unknown as Logger;
    const recording = createUsageRecording({ config: { ...config, USAGE_SCHEMA: 'gateway_usage' }, log, database: flaky });
    const usage = usageOf('query Flaky { me { secret } }');
    recording.recorder.record(usage, { name: 'flaky-app', version: '9' }, undefined);
    await recording.start().catch(() => {});
    recording.recorder.record(usage, { name: 'flaky-app', version: '9' }, undefined);
    await recording.flush();
    recording.recorder.record(usage, { name: 'flaky-app', version: '9' }, undefined);
    await recording.flush();
    await recording.stop();
    const rows = (await store.entries(windowOf(1), 'Person.secret')).filter((e) => e.client === 'flaky-app');
    expect(rows.map((r) => r.count)).toEqual([3]);
    expect(lines.filter((l) => l.includes('usage flush failed'))).toHaveLength(1);
  });

  it('retention deletes buckets older than the window, at most once an hour across replicas', async () => {
    const old = { hour: '2020-01-01T00:00:00.000Z', coordinate: 'Old.field', client: 'a', version: '1', operation: 'O', signature: 's', count: 1, firstSeen: '2020-01-01T00:00:01.000Z', lastSeen: '2020-01-01T00:00:02.000Z' };
    await store.write({ usage: [old, { ...old, coordinate: 'New.field', hour: new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString() }], subgraphs: [] });
    const wide = { from: new Date('2019-01-01'), to: new Date() };
    expect((await store.entries(wide, 'Old.field')).length).toBe(1);
    // Two hours on: the recording of the test above already ran retention at its first write.
    const now = new Date(Date.now() + 2 * 3_600_000);
    expect(await store.retention(30, now)).toBe(true);
    expect(await store.retention(30, new Date(now.getTime() + 60_000))).toBe(false);
    expect((await store.entries(wide, 'Old.field')).length).toBe(0);
    expect((await store.entries(wide, 'New.field')).length).toBe(1);
    const exported = await usageExport(store, windowOf(1));
    expect(exported.format).toBe('suoke-usage');
    expect(exported.coordinates['New.field']?.[0]).toMatchObject({ client: 'a', version: '1', operation: 'O', signature: 's', count: 1 });
  });

  it('merging a kept batch into the next is bounded', () => {
    const row = { hour: 'h', coordinate: 'c', client: 'a', version: '1', operation: 'o', signature: 's', count: 1, firstSeen: '1', lastSeen: '2' };
    const merged = mergeBatches({ usage: [row, { ...row, coordinate: 'd' }], subgraphs: [] }, { usage: [{ ...row, count: 2, lastSeen: '3' }, { ...row, coordinate: 'e' }], subgraphs: [] }, 2);
    expect(merged.usage).toEqual([{ ...row, count: 3, lastSeen: '3' }, { ...row, coordinate: 'd' }]);
    expect(merged.dropped).toBe(1);
  });
});

describe('the embedded folder is one process\'s', () => {
  it('a second store on the same folder is refused, in this process and from another live one; a lock whose process is gone is taken over', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'usage-lock-'));
    const config = loadUsageConfig({ PGLITE_DATA_DIR: dataDir });
    const lockFile = path.join(dataDir, 'gateway-usage.lock');
    try {
      const first = await UsageStore.open(config);
      expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid));
      await expect(UsageStore.open(config)).rejects.toThrow(/another gateway in this process \(pid \d+\) holds the embedded usage store/);
      await first.close();
      expect(existsSync(lockFile)).toBe(false);

      // Another live process holds it (its pid in the lock): refused, naming that pid.
      const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
      try {
        writeFileSync(lockFile, String(other.pid));
        await expect(UsageStore.open(config)).rejects.toThrow(`another gateway (pid ${other.pid}) holds the embedded usage store`);
      } finally {
        other.kill('SIGKILL');
        await new Promise((resolve) => other.once('exit', resolve));
      }
      // That process is gone: its lock is stale and taken over.
      const again = await UsageStore.open(config);
      expect(readFileSync(lockFile, 'utf8')).toBe(String(process.pid));
      await again.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('configuration', () => {
  it('GATEWAY_WORKERS > 1 with the embedded store is a problem listed at start; a database URL or USAGE_RECORDING=off lifts it', () => {
    expect(() => loadGatewayConfig({ NODE_ENV: 'test', GATEWAY_WORKERS: '2' })).toThrow(/USAGE_RECORDING: with GATEWAY_WORKERS > 1 the usage store needs USAGE_DATABASE_URL or DATABASE_URL/);
    expect(loadGatewayConfig({ NODE_ENV: 'test', GATEWAY_WORKERS: '2', USAGE_DATABASE_URL: 'postgres://gw@127.0.0.1:5432/usage' }).GATEWAY_WORKERS).toBe(2);
    expect(loadGatewayConfig({ NODE_ENV: 'test', GATEWAY_WORKERS: '2', DATABASE_URL: 'postgres://gw@127.0.0.1:5432/usage' }).USAGE_RECORDING).toBe('on');
    expect(loadGatewayConfig({ NODE_ENV: 'test', GATEWAY_WORKERS: '2', USAGE_RECORDING: 'off' }).USAGE_RECORDING).toBe('off');
    expect(() => loadGatewayConfig({ NODE_ENV: 'test', USAGE_SAMPLE_RATE: '1.5' })).toThrow(/USAGE_SAMPLE_RATE/);
    expect(loadGatewayConfig({ NODE_ENV: 'test' })).toMatchObject({ USAGE_SAMPLE_RATE: 1, USAGE_SCHEMA: 'gateway_usage', USAGE_FLUSH_MS: 10_000, USAGE_RETENTION_DAYS: 30, USAGE_MAX_CLIENTS_PER_HOUR: 100 });
  });
});

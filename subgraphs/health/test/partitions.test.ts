import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertObservations } from '../src/db/ingest.js';
import { observationPagesQuery, summariesQuery, type PageQuery } from '../src/db/queries.js';
import { monthStart, recordingWindow, DEFAULT_BOUNDS, type NewObservation } from '../src/service/ingest.js';
import { maintainPartitions } from '../src/service/partitions.js';
import type { HealthSubgraph } from '../src/server.js';
import { countRows, heartRates, RECORD, startHealth, type Health, type RecordResult } from './harness.js';

// The observations' monthly partitions: made ahead by the migration and the
// job, never by a user's write; a month without one refuses the write whole;
// a timeline read only touches the partitions its bounds allow.

let health: Health;
const now = new Date();
const month = (offset: number) => {
  const start = monthStart(now, offset);
  return `observations_${start.getUTCFullYear()}_${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
};
const newUser = () => ({ id: randomUUID() });

beforeAll(async () => {
  health = await startHealth();
  // DDL is recorded by the database itself, whoever sends it (a plpgsql EXECUTE included).
  await health.database.exec(`
    create table public.ddl_log (tag text not null, at timestamptz not null default clock_timestamp());
    create function public.log_ddl() returns event_trigger language plpgsql as $$
    begin insert into public.ddl_log (tag) values (tg_tag); end $$;
    create event trigger log_ddl on ddl_command_start execute function public.log_ddl();`);
});
afterAll(async () => {
  await health?.database.exec('drop event trigger if exists log_ddl');
  await health?.close();
});

const ddl = async () => (await health.database.rows<{ tag: string }>(sql`select tag from public.ddl_log order by at`)).map((r) => r.tag);
const clearDdl = () => health.database.exec('delete from public.ddl_log');
const partitions = async () =>
  (
    await health.database.rows<{ name: string }>(sql`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = '"health".observations'::regclass order by 1`)
  ).map((r) => r.name);

describe('partitions prepared ahead', () => {
  it('the migration prepared the default window: 24 months back to 3 ahead', async () => {
    const names = await partitions();
    expect(names).toContain(month(-24));
    expect(names).toContain(month(0));
    expect(names).toContain(month(3));
    expect(names.filter((n) => n >= month(-24) && n <= month(3))).toHaveLength(28);
  });

  it('the job is idempotent, and concurrent runs create each partition once', async () => {
    expect(await maintainPartitions(health.database, { maxAgeMonths: 24, aheadMonths: 3 })).toBe(0);
    const before = await partitions();
    const runs = await Promise.all([1, 2, 3].map(() => maintainPartitions(health.database, { maxAgeMonths: 24, aheadMonths: 6 })));
    expect(runs.reduce((a, b) => a + b, 0)).toBe(3);
    expect(await partitions()).toEqual([...before, month(4), month(5), month(6)].sort());
    expect(await maintainPartitions(health.database, { maxAgeMonths: 24, aheadMonths: 6 })).toBe(0);
  });

  it('the job runs at start in the subgraph process', () => {
    const job = (health.subgraph as unknown as HealthSubgraph).partitions;
    expect(job.stats.failures).toBe(0);
  });

  it('a user write issues no DDL, for any month of the window (the capture sees the job’s DDL)', async () => {
    await clearDdl();
    const months = [-23, -12, -2, -1, 0].map((offset) => new Date(monthStart(now, offset).getTime() + 3_600_000).toISOString());
    const input = months.map((recordedAt, i) => ({ externalId: `m-${i}`, type: 'WEIGHT', value: 70, recordedAt }));
    const result = await health.gql<RecordResult>(RECORD, { input }, newUser());
    expect(result.errors).toBeUndefined();
    expect(result.data?.recordObservations?.inserted).toBe(5);
    expect(await ddl()).toEqual([]);
    // The capture works: the job's CREATE TABLE and ALTER TABLE ... ATTACH are seen.
    await maintainPartitions(health.database, { maxAgeMonths: 24, aheadMonths: 7 });
    expect(await ddl()).toEqual(['CREATE TABLE', 'ALTER TABLE']);
  });

  it('recordedAt outside the window is BAD_USER_INPUT naming the field, the bound and the value; nothing of the batch is stored', async () => {
    const { earliest } = recordingWindow(now, DEFAULT_BOUNDS);
    const before = await countRows(health.database, 'observation_keys');
    const tooOld = new Date(earliest.getTime() - 1).toISOString();
    const input = [...heartRates(3, { prefix: 'ok' }), { externalId: 'old', type: 'WEIGHT', value: 70, recordedAt: tooOld }];
    const result = await health.gql<RecordResult>(RECORD, { input }, newUser());
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input[3].recordedAt' });
    expect(result.errors?.[0]?.message).toContain(`recordedAt must be from ${earliest.toISOString()} (24 months back) to 5 minutes after now`);
    expect(result.errors?.[0]?.message).toContain(`received ${tooOld}`);
    expect(await countRows(health.database, 'observation_keys')).toBe(before);
  });

  it('a month without a partition refuses the whole write (keys included), and the job makes it storable again', async () => {
    const user = newUser();
    await health.database.exec(`alter table "health".observations detach partition "health".${month(-1)}`);
    const keys = await countRows(health.database, 'observation_keys');
    const input = [
      { externalId: 'here', type: 'WEIGHT', value: 70, recordedAt: new Date(monthStart(now, 0).getTime() + 60_000).toISOString() },
      { externalId: 'gone', type: 'WEIGHT', value: 71, recordedAt: new Date(monthStart(now, -1).getTime() + 60_000).toISOString() },
    ];
    const refused = await health.gql<RecordResult>(RECORD, { input }, user);
    expect(refused.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(refused.errors?.[0]?.message).toContain('nothing was stored');
    expect(await countRows(health.database, 'observation_keys')).toBe(keys);

    await (health.subgraph as unknown as HealthSubgraph).partitions.run();
    expect(await partitions()).toContain(month(-1));
    const retried = await health.gql<RecordResult>(RECORD, { input }, user);
    expect(retried.data?.recordObservations).toMatchObject({ inserted: 2, duplicates: 0 });
  });
});

describe('timeline reads touch only the partitions their bounds allow', () => {
  const user = randomUUID();
  const page = (overrides: Partial<PageQuery> = {}): PageQuery => ({ userId: user, type: null, from: null, to: null, limit: 21, after: null, ...overrides });

  /** The partitions a statement actually scanned: named in EXPLAIN ANALYZE and not "never executed". */
  async function scanned(queries: PageQuery[]): Promise<string[]> {
    const { earliest } = recordingWindow(new Date(), DEFAULT_BOUNDS);
    const plan = await health.database.rows<Record<string, string>>(
      sql`explain (analyze, costs off, timing off, summary off) ${observationPagesQuery(queries, earliest)}`,
    );
    const lines = plan.map((row) => Object.values(row)[0]!);
    const names = lines.filter((l) => !l.includes('never executed')).flatMap((l) => /\bon (observations_\d{4}_\d{2})\b/.exec(l)?.[1] ?? []);
    return [...new Set(names)].sort();
  }

  beforeAll(async () => {
    const items: NewObservation[] = [-34, -3, 0].map((offset, i) => ({
      userId: user,
      externalId: `e-${i}`,
      type: 'HEART_RATE',
      value: 70,
      diastolic: null,
      recordedAt: new Date(monthStart(now, offset).getTime() + 60_000),
      source: null,
    }));
    // Older than the window: partitions from before it exist (written under a wider window, say).
    await health.database.db.execute(sql`select "health".create_observation_partitions(${monthStart(now, -35).toISOString()}::timestamptz, ${monthStart(now, -25).toISOString()}::timestamptz)`);
    await health.database.db.transaction((tx) => insertObservations(tx, items));
  });

  it('without a range: only the window, never the partitions before it nor the months prepared ahead', async () => {
    const touched = await scanned([page()]);
    expect(touched[0]).toBe(month(-24));
    expect(touched.at(-1)).toBe(month(0));
    expect(touched).toHaveLength(25);
  });

  it('with a range: only the range’s months, for one key or a batch', async () => {
    expect(await scanned([page({ from: monthStart(now, -3), to: monthStart(now, -2) })])).toEqual([month(-3)]);
    expect(await scanned([page({ from: monthStart(now, -3), to: monthStart(now, -2) }), page({ from: monthStart(now, -2) })])).toEqual([month(-3), month(-2), month(-1), month(0)]);
    // An explicit `from` before the window reaches the older rows.
    expect(await scanned([page({ from: monthStart(now, -34), to: monthStart(now, -33) })])).toEqual([month(-34)]);
  });

  it('healthSummary: the batch\'s earliest instant prunes the older partitions when the statement is planned', async () => {
    // EXPLAIN without ANALYZE shows what the planner kept: only the partitions the longest window reaches.
    const plan = await health.database.rows<Record<string, string>>(
      sql`explain (costs off) ${summariesQuery([{ userId: user, days: 7 }, { userId: randomUUID(), days: 30 }])}`,
    );
    const planned = [...new Set(plan.flatMap((row) => /\bon (observations_\d{4}_\d{2})\b/.exec(Object.values(row)[0]!)?.[1] ?? []))];
    expect(planned.length).toBeGreaterThan(0);
    expect(planned.length).toBeLessThanOrEqual(3);
    expect(planned.every((name) => name >= month(-2) && name <= month(0))).toBe(true);
  });

  it('one statement per page request, whatever the page size', async () => {
    const query = (first: number) =>
      health.gql(`query ($r: [_Any!]!, $first: Int) { _entities(representations: $r) { ... on User { observations(first: $first) { edges { node { id } } } } } }`, {
        r: [{ __typename: 'User', id: user }],
        first,
      }, { id: user });
    const small = await health.countStatements(() => query(1));
    const large = await health.countStatements(() => query(100));
    expect((small.result.data as any)._entities[0].observations.edges).toHaveLength(1);
    expect((large.result.data as any)._entities[0].observations.edges).toHaveLength(2); // the -34 month is outside the window
    expect(large.statements).toBe(small.statements);
  });
});

// Two connections at once exist only on PostgreSQL (PGlite is one connection; CI runs this).
describe.runIf(process.env.DATABASE_URL)('a write for a new month does not block readers', () => {
  it('while a user write for a month nobody wrote yet is open, no lock on the parent table stops a timeline read', async () => {
    const writer = newUser();
    const reader = newUser();
    const seeded = await health.gql<RecordResult>(RECORD, { input: heartRates(2, { prefix: 'r' }) }, reader);
    expect(seeded.errors).toBeUndefined();
    const fresh = new Date(monthStart(now, -20).getTime() + 60_000); // a month no test wrote to
    const items: NewObservation[] = [{ userId: writer.id, externalId: 'new-month', type: 'STEPS', value: 1000, diastolic: null, recordedAt: fresh, source: null }];
    const TIMELINE = `query ($r: [_Any!]!) { _entities(representations: $r) { ... on User { observations(first: 5) { edges { node { externalId } } } } } }`;

    await health.database.db.transaction(async (tx) => {
      await insertObservations(tx, items);
      // Read on another pooled connection: what the open write holds on the parent table.
      const blocking = await health.database.rows<{ mode: string }>(sql`
        select l.mode from pg_locks l
        where l.relation = '"health".observations'::regclass and l.granted
          and l.mode in ('AccessExclusiveLock', 'ExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock')`);
      expect(blocking).toEqual([]);
      // A reader over HTTP, on its own connection, gets its answer while the write is still open.
      const read = await health.gql<any>(TIMELINE, { r: [{ __typename: 'User', id: reader.id }] }, reader);
      expect(read.errors).toBeUndefined();
      expect(read.data._entities[0].observations.edges).toHaveLength(2);
    });
    const [stored] = await health.database.rows<{ n: number }>(sql`select count(*)::int as n from "health".observations where user_id = ${writer.id}::uuid`);
    expect(stored!.n).toBe(1);
  });
});

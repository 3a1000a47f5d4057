import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECORD, startHealth, type Caller, type Health, type RecordResult } from './harness.js';

let health: Health;
const owner = { id: randomUUID() };
const stranger = { id: randomUUID() };
const admin = { id: randomUUID(), roles: ['USER', 'ADMIN'] };
const clinician = { id: randomUUID(), roles: ['USER', 'CLINICIAN'] };

const now = Date.now();
const ago = (ms: number) => new Date(now - ms).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// Heart rates within the week: 60, 70, 80, 90 (newest 90); one 150 ten days ago.
// Blood pressure: 120/80 two days ago, 130/85 one hour ago. Steps: 4000, 6000, 8000 (newest) in the week.
// hr-3 and steps-2 share an instant, so only the id orders them.
const tie = ago(5 * HOUR);
const fixtures = [
  { externalId: 'hr-1', type: 'HEART_RATE', value: 60, recordedAt: ago(4 * DAY) },
  { externalId: 'hr-2', type: 'HEART_RATE', value: 70, recordedAt: ago(3 * DAY) },
  { externalId: 'hr-3', type: 'HEART_RATE', value: 80, recordedAt: tie },
  { externalId: 'hr-4', type: 'HEART_RATE', value: 90, recordedAt: ago(2 * HOUR) },
  { externalId: 'hr-old', type: 'HEART_RATE', value: 150, recordedAt: ago(10 * DAY) },
  { externalId: 'bp-1', type: 'BLOOD_PRESSURE', value: 120, diastolic: 80, recordedAt: ago(2 * DAY) },
  { externalId: 'bp-2', type: 'BLOOD_PRESSURE', value: 130, diastolic: 85, recordedAt: ago(HOUR) },
  { externalId: 'steps-1', type: 'STEPS', value: 4000, recordedAt: ago(3 * DAY + 60_000) },
  { externalId: 'steps-2', type: 'STEPS', value: 8000, recordedAt: tie },
  { externalId: 'steps-3', type: 'STEPS', value: 6000, recordedAt: ago(DAY) },
];

beforeAll(async () => {
  health = await startHealth();
  const recorded = await health.gql<RecordResult>(RECORD, { input: fixtures }, owner);
  expect(recorded.data?.recordObservations?.inserted).toBe(fixtures.length);
  await health.gql<RecordResult>(RECORD, { input: [{ externalId: 'x', type: 'WEIGHT', value: 80, recordedAt: ago(HOUR) }] }, stranger);
});
afterAll(async () => {
  await health?.close();
});

const ENTITIES = /* GraphQL */ `
  query Health($representations: [_Any!]!, $days: Int!, $first: Int, $after: String, $type: ObservationType, $from: DateTime, $to: DateTime) {
    _entities(representations: $representations) {
      ... on User {
        id
        healthSummary(days: $days) { type unit count average min max latest latestAt averageDiastolic latestDiastolic }
        observations(first: $first, after: $after, type: $type, from: $from, to: $to) {
          edges { cursor node { id type value diastolic unit recordedAt externalId } }
          pageInfo { hasNextPage endCursor }
        }
        healthProfile { id sex }
      }
    }
  }
`;

interface Stat {
  type: string;
  unit: string;
  count: number;
  average: number;
  min: number;
  max: number;
  latest: number;
  latestAt: string;
  averageDiastolic: number | null;
  latestDiastolic: number | null;
}
interface Page {
  edges: Array<{ cursor: string; node: { id: string; type: string; value: number; diastolic: number | null; unit: string; recordedAt: string; externalId: string } }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}
interface UserHealth {
  id: string;
  healthSummary: Stat[] | null;
  observations: Page | null;
  healthProfile: { id: string; sex: string | null } | null;
}

function readUser(caller: Caller, variables: Record<string, unknown> = {}, userId = owner.id) {
  return health.gql<{ _entities: Array<UserHealth | null> }>(
    ENTITIES,
    { representations: [{ __typename: 'User', id: userId }], days: 7, ...variables },
    caller,
  );
}

describe('User.healthSummary', () => {
  it('computes count, average, min, max and latest per type over the window', async () => {
    const result = await readUser(owner);
    expect(result.errors).toBeUndefined();
    const stats = result.data!._entities[0]!.healthSummary!;
    expect(stats.map((s) => s.type)).toEqual(['HEART_RATE', 'BLOOD_PRESSURE', 'STEPS']);
    const [hr, bp, steps] = stats;
    expect(hr).toMatchObject({ unit: 'bpm', count: 4, min: 60, max: 90, latest: 90, averageDiastolic: null, latestDiastolic: null });
    expect(hr!.average).toBeCloseTo(75);
    expect(hr!.latestAt).toBe(fixtures[3]!.recordedAt);
    expect(bp).toMatchObject({ unit: 'mmHg', count: 2, min: 120, max: 130, latest: 130, latestDiastolic: 85 });
    expect(bp!.average).toBeCloseTo(125);
    expect(bp!.averageDiastolic).toBeCloseTo(82.5);
    expect(steps).toMatchObject({ unit: 'steps', count: 3, min: 4000, max: 8000, latest: 8000 });
    expect(steps!.average).toBeCloseTo(6000);
  });

  it('widens with days', async () => {
    const result = await readUser(owner, { days: 30 });
    const hr = result.data!._entities[0]!.healthSummary!.find((s) => s.type === 'HEART_RATE')!;
    expect(hr).toMatchObject({ count: 5, max: 150, latest: 90 });
    expect(hr.average).toBeCloseTo(90);
    const oneDay = await readUser(owner, { days: 1 });
    expect(oneDay.data!._entities[0]!.healthSummary!.map((s) => [s.type, s.count])).toEqual([
      ['HEART_RATE', 2],
      ['BLOOD_PRESSURE', 1],
      ['STEPS', 1],
    ]);
  });

  it.each([0, 367, -1])('refuses days = %i with BAD_USER_INPUT on days, keeping other fields', async (days) => {
    const result = await readUser(owner, { days });
    const user = result.data!._entities[0]!;
    expect(user.healthSummary).toBeNull();
    expect(user.observations?.edges.length).toBeGreaterThan(0);
    expect(result.errors).toHaveLength(1);
    expect(result.errors?.[0]).toMatchObject({ path: ['_entities', 0, 'healthSummary'], extensions: { code: 'BAD_USER_INPUT', field: 'days' } });
    expect(result.errors?.[0]?.message).toContain(`received ${days}`);
  });

  it('is empty for a user without observations', async () => {
    const result = await readUser(admin, {}, randomUUID());
    expect(result.data!._entities[0]!.healthSummary).toEqual([]);
  });
});

describe('User.observations', () => {
  async function allPages(variables: Record<string, unknown>, first: number) {
    const seen: Page['edges'] = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page += 1) {
      const result = await readUser(owner, { ...variables, first, after, days: 7 });
      expect(result.errors).toBeUndefined();
      const connection: Page = result.data!._entities[0]!.observations!;
      expect(connection.edges.length).toBeLessThanOrEqual(first);
      seen.push(...connection.edges);
      if (!connection.pageInfo.hasNextPage) {
        return seen;
      }
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)!.cursor);
      after = connection.pageInfo.endCursor;
    }
    throw new Error('pagination did not end');
  }

  it('pages newest first with cursors, ties broken by id, each observation once', async () => {
    const edges = await allPages({}, 3);
    expect(edges).toHaveLength(fixtures.length);
    const nodes = edges.map((e) => e.node);
    expect(new Set(nodes.map((n) => n.id)).size).toBe(fixtures.length);
    for (let i = 1; i < nodes.length; i += 1) {
      const [prev, cur] = [nodes[i - 1]!, nodes[i]!];
      const order = Date.parse(prev.recordedAt) - Date.parse(cur.recordedAt) || (prev.id > cur.id ? 1 : -1);
      expect(order).toBeGreaterThan(0);
    }
    expect(nodes[0]).toMatchObject({ externalId: 'bp-2', type: 'BLOOD_PRESSURE', value: 130, diastolic: 85, unit: 'mmHg' });
    expect(nodes.at(-1)!.externalId).toBe('hr-old');
    // The two observations sharing an instant are both there, in id order.
    const tied = nodes.filter((n) => n.recordedAt === tie);
    expect(tied.map((n) => n.externalId).sort()).toEqual(['hr-3', 'steps-2']);
  });

  it('filters by type and time window', async () => {
    const steps = await allPages({ type: 'STEPS' }, 2);
    expect(steps.map((e) => e.node.externalId)).toEqual(['steps-2', 'steps-3', 'steps-1']);
    const window = await allPages({ from: ago(3 * DAY + HOUR), to: tie }, 10);
    expect(window.map((e) => e.node.externalId)).toEqual(['steps-3', 'bp-1', 'hr-2', 'steps-1']);
    const typedWindow = await allPages({ type: 'HEART_RATE', from: ago(20 * DAY), to: ago(DAY) }, 10);
    expect(typedWindow.map((e) => e.node.externalId)).toEqual(['hr-2', 'hr-1', 'hr-old']);
  });

  it('returns an empty page with no cursor when nothing matches', async () => {
    const result = await readUser(owner, { type: 'BODY_TEMPERATURE' });
    expect(result.data!._entities[0]!.observations).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it.each([
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ after: 'not-a-cursor' }, 'after'],
    [{ after: Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url') }, 'after'],
    [{ from: ago(HOUR), to: ago(DAY) }, 'from'],
  ])('refuses bad arguments %j', async (variables, field) => {
    const result = await readUser(owner, variables);
    expect(result.data!._entities[0]!.observations).toBeNull();
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
  });
});

describe('access to health data', () => {
  it("refuses another user's data with FORBIDDEN and null fields, resolving the rest", async () => {
    const result = await readUser(stranger);
    const user = result.data!._entities[0]!;
    expect(user).toEqual({ id: owner.id, healthSummary: null, observations: null, healthProfile: null });
    expect(result.errors?.map((e) => [e.path?.at(-1), e.extensions?.code]).sort()).toEqual([
      ['healthProfile', 'FORBIDDEN'],
      ['healthSummary', 'FORBIDDEN'],
      ['observations', 'FORBIDDEN'],
    ]);
  });

  it('refuses anonymous callers with UNAUTHENTICATED', async () => {
    const result = await readUser(undefined);
    expect(result.status).toBe(200);
    expect(result.data!._entities[0]).toEqual({ id: owner.id, healthSummary: null, observations: null, healthProfile: null });
    expect(new Set(result.errors?.map((e) => e.extensions?.code))).toEqual(new Set(['UNAUTHENTICATED']));
    expect(result.errors).toHaveLength(3);
  });

  it('rejects a bad token with 401 before execution', async () => {
    const response = await fetch(health.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.token' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(401);
  });

  it.each([
    ['an admin', admin],
    ['a clinician', clinician],
  ])('lets %s read anyone’s summary and observations', async (_who, caller) => {
    const result = await readUser(caller);
    expect(result.errors).toBeUndefined();
    const user = result.data!._entities[0]!;
    expect(user.healthSummary?.map((s) => s.type)).toEqual(['HEART_RATE', 'BLOOD_PRESSURE', 'STEPS']);
    expect(user.observations?.edges.length).toBeGreaterThan(0);
  });

  it('never lets a user record for someone else: records go to the caller', async () => {
    await health.gql<RecordResult>(RECORD, { input: [{ externalId: 'mine', type: 'SLEEP', value: 400, recordedAt: ago(HOUR) }] }, stranger);
    const ownerView = await readUser(owner, { type: 'SLEEP' });
    expect(ownerView.data!._entities[0]!.observations!.edges).toEqual([]);
    const strangerView = await readUser(stranger, { type: 'SLEEP' }, stranger.id);
    expect(strangerView.data!._entities[0]!.observations!.edges.map((e) => e.node.externalId)).toEqual(['mine']);
  });
});

describe('Observation entity', () => {
  const QUERY = /* GraphQL */ `
    query ($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on Observation { id type value unit externalId } }
    }
  `;

  it('resolves by id for the owner and for health:read:any, FORBIDDEN for others', async () => {
    const page = await readUser(owner, { first: 2 });
    const ids = page.data!._entities[0]!.observations!.edges.map((e) => e.node.id);
    const representations = [...ids.map((id) => ({ __typename: 'Observation', id })), { __typename: 'Observation', id: randomUUID() }];

    const mine = await health.gql<{ _entities: unknown[] }>(QUERY, { representations }, owner);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!._entities).toEqual([
      { id: ids[0], type: 'BLOOD_PRESSURE', value: 130, unit: 'mmHg', externalId: 'bp-2' },
      { id: ids[1], type: 'HEART_RATE', value: 90, unit: 'bpm', externalId: 'hr-4' },
      null,
    ]);
    const asAdmin = await health.gql<{ _entities: unknown[] }>(QUERY, { representations }, admin);
    expect(asAdmin.data!._entities.filter(Boolean)).toHaveLength(2);

    const theirs = await health.gql<{ _entities: unknown[] }>(QUERY, { representations }, stranger);
    expect(theirs.data!._entities).toEqual([null, null, null]);
    expect(theirs.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([
      [['_entities', 0], 'FORBIDDEN'],
      [['_entities', 1], 'FORBIDDEN'],
    ]);

    const anonymous = await health.gql<{ _entities: unknown[] }>(QUERY, { representations });
    expect(anonymous.data?._entities).toEqual([null, null, null]);
    expect(anonymous.errors?.map((e) => [e.path, e.extensions?.code])).toEqual([
      [['_entities', 0], 'UNAUTHENTICATED'],
      [['_entities', 1], 'UNAUTHENTICATED'],
      [['_entities', 2], 'UNAUTHENTICATED'],
    ]);
  });
});

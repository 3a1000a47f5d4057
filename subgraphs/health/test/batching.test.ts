import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedHealth } from '../src/seed.js';
import { startHealth, type Health } from './harness.js';

let health: Health;
const userIds = Array.from({ length: 50 }, () => randomUUID());
const admin = { id: randomUUID(), roles: ['ADMIN'] };

beforeAll(async () => {
  health = await startHealth();
  await seedHealth(health.database, { userIds, days: 7 });
});
afterAll(async () => {
  await health?.close();
});

const USERS = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on User {
        id
        healthSummary(days: 7) { type count }
        observations(first: 3) { edges { cursor node { id type } } pageInfo { hasNextPage } }
        steps: observations(first: 2, type: STEPS) { edges { node { type } } }
        healthProfile { id sex }
      }
    }
  }
`;

interface UserHealth {
  id: string;
  healthSummary: Array<{ type: string; count: number }>;
  observations: { edges: Array<{ node: { id: string; type: string } }>; pageInfo: { hasNextPage: boolean } };
  steps: { edges: Array<{ node: { type: string } }> };
  healthProfile: { id: string } | null;
}

async function readUsers(count: number) {
  const representations = userIds.slice(0, count).map((id) => ({ __typename: 'User', id }));
  const { result, statements } = await health.countStatements(() => health.gql<{ _entities: UserHealth[] }>(USERS, { representations }, admin));
  expect(result.errors).toBeUndefined();
  const users = result.data!._entities;
  // Every user really has data, so an empty answer cannot pass for a batched one.
  expect(users).toHaveLength(count);
  for (const [i, user] of users.entries()) {
    expect(user.id).toBe(userIds[i]);
    expect(user.healthSummary.map((s) => s.type)).toEqual(['HEART_RATE', 'BLOOD_PRESSURE', 'SLEEP', 'STEPS', 'WEIGHT']);
    expect(user.observations.edges).toHaveLength(3);
    expect(user.observations.pageInfo.hasNextPage).toBe(true);
    expect(user.steps.edges.map((e) => e.node.type)).toEqual(['STEPS', 'STEPS']);
    expect(user.healthProfile?.id).toBe(userIds[i]);
  }
  return statements;
}

describe('batching', () => {
  it('resolves 5 and 50 users with the same statements: one per loader', async () => {
    const five = await readUsers(5);
    const fifty = await readUsers(50);
    console.info(`_entities User statements: 5 users → ${five}, 50 users → ${fifty}`);
    expect(fifty).toBe(five);
    // healthSummary, both observations selections (one page loader), healthProfile, and the audit INSERT (one per request, whatever the number of ids; tests/audit.test.ts).
    expect(five).toBe(4);
  });

  it('resolves 5 and 50 Observation references with one statement', async () => {
    const page = await health.gql<{ _entities: UserHealth[] }>(USERS, { representations: userIds.map((id) => ({ __typename: 'User', id })) }, admin);
    const ids = page.data!._entities.flatMap((u) => u.observations.edges.map((e) => e.node.id));
    const query = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Observation { id value unit } } }`;
    const counts: number[] = [];
    for (const n of [5, 50]) {
      const representations = ids.slice(0, n).map((id) => ({ __typename: 'Observation', id }));
      const { result, statements } = await health.countStatements(() => health.gql<{ _entities: Array<{ id: string } | null> }>(query, { representations }, admin));
      expect(result.data?._entities.map((o) => o?.id)).toEqual(ids.slice(0, n));
      counts.push(statements);
    }
    console.info(`_entities Observation statements: 5 → ${counts[0]}, 50 → ${counts[1]}`);
    // observations by id, and the audit INSERT (one event, all the ids).
    expect(counts).toEqual([2, 2]);
  });

  it('sends no SQL for representations whose id is not a UUID', async () => {
    const { result, statements } = await health.countStatements(() =>
      health.gql<{ _entities: UserHealth[] }>(USERS, { representations: [{ __typename: 'User', id: 'legacy-42' }] }, admin),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data?._entities[0]).toMatchObject({ id: 'legacy-42', healthSummary: [], observations: { edges: [] }, healthProfile: null });
    expect(statements).toBe(0);
  });
});

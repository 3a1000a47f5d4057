import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDiagnosis } from '../src/seed.js';
import { startDiagnosis, type Diagnosis } from './harness.js';

let diagnosis: Diagnosis;
const userIds = Array.from({ length: 20 }, () => randomUUID());
const clinician = { id: randomUUID(), roles: ['USER', 'CLINICIAN'] };

beforeAll(async () => {
  diagnosis = await startDiagnosis();
  await seedDiagnosis(diagnosis.database, { userIds });
});
afterAll(async () => {
  await diagnosis?.close();
});

const USERS = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on User {
        id
        consultations(first: 20) { edges { node { status report { primaryConstitution { code } confidence } } } }
        latestReport { primaryConstitution { code } }
      }
    }
  }
`;

interface UserView {
  id: string;
  consultations: { edges: Array<{ node: { status: string; report: { primaryConstitution: { code: string }; confidence: number } | null } }> };
  latestReport: { primaryConstitution: { code: string } } | null;
}

async function readUsers(count: number) {
  const representations = userIds.slice(0, count).map((id) => ({ __typename: 'User', id }));
  const { result, statements } = await diagnosis.countStatements(() => diagnosis.gql<{ _entities: UserView[] }>(USERS, { representations }, clinician));
  expect(result.errors).toBeUndefined();
  const users = result.data!._entities;
  // Every user really has data, so an empty answer cannot pass for a batched one.
  expect(users).toHaveLength(count);
  for (const [i, user] of users.entries()) {
    expect(user.id).toBe(userIds[i]);
    expect(user.consultations.edges).toHaveLength(2);
    for (const { node } of user.consultations.edges) {
      expect(node.status).toBe('COMPLETED');
      expect(node.report!.confidence).toBeGreaterThan(0);
    }
    // Newest first: the latest report is the first consultation's.
    expect(user.latestReport).toEqual({ primaryConstitution: user.consultations.edges[0]!.node.report!.primaryConstitution });
  }
  return statements;
}

describe('batching', () => {
  it('resolves 2 and 20 users with the same statements: one per loader', async () => {
    const two = await readUsers(2);
    const twenty = await readUsers(20);
    console.info(`_entities User statements: 2 users → ${two}, 20 users → ${twenty}`);
    expect(twenty).toBe(two);
    // consultation pages, reports by consultation, latest report by user, and the audit INSERT (one per request, whatever the number of ids; tests/audit.test.ts).
    expect(two).toBe(4);
  });

  it('resolves 2 and 20 Consultation references with one statement per loader', async () => {
    const page = await diagnosis.gql<{ _entities: Array<{ consultations: { edges: Array<{ node: { id: string } }> } }> }>(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { consultations { edges { node { id } } } } } }`,
      { representations: userIds.map((id) => ({ __typename: 'User', id })) },
      clinician,
    );
    const ids = page.data!._entities.flatMap((u) => u.consultations.edges.map((e) => e.node.id));
    const query = `query ($representations: [_Any!]!) { _entities(representations: $representations) {
      ... on Consultation { id status inquiry { primary { code } } palpation { rateBpm } report { confidence } } } }`;
    const counts: number[] = [];
    for (const n of [2, 20]) {
      const representations = ids.slice(0, n).map((id) => ({ __typename: 'Consultation', id }));
      const { result, statements } = await diagnosis.countStatements(() =>
        diagnosis.gql<{ _entities: Array<{ id: string; inquiry: unknown } | null> }>(query, { representations }, clinician),
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities.map((c) => c?.id)).toEqual(ids.slice(0, n));
      expect(result.data!._entities.every((c) => c?.inquiry)).toBe(true);
      counts.push(statements);
    }
    console.info(`_entities Consultation statements: 2 → ${counts[0]}, 20 → ${counts[1]}`);
    // consultations by id, method results, reports, and the audit INSERT (Consultation and DiagnosisReport events in one statement).
    expect(counts).toEqual([4, 4]);
  });

  it('sends no SQL for representations whose id is not a UUID', async () => {
    const { result, statements } = await diagnosis.countStatements(() =>
      diagnosis.gql<{ _entities: UserView[] }>(USERS, { representations: [{ __typename: 'User', id: 'legacy-42' }] }, clinician),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities[0]).toEqual({ id: 'legacy-42', consultations: { edges: [] }, latestReport: null });
    expect(statements).toBe(0);
  });
});

describe('User.consultations pages', () => {
  const PAGE = `query ($id: ID!, $first: Int, $after: String) { _entities(representations: [{ __typename: "User", id: $id }]) {
    ... on User { consultations(first: $first, after: $after) { edges { cursor node { id startedAt } } pageInfo { hasNextPage endCursor } } } } }`;
  type Page = { edges: Array<{ cursor: string; node: { id: string; startedAt: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  const owner = () => ({ id: userIds[0]! });

  it('pages newest first with cursors', async () => {
    const first = await diagnosis.gql<{ _entities: Array<{ consultations: Page }> }>(PAGE, { id: owner().id, first: 1 }, owner());
    const page1 = first.data!._entities[0]!.consultations;
    expect(page1.edges).toHaveLength(1);
    expect(page1.pageInfo).toEqual({ hasNextPage: true, endCursor: page1.edges[0]!.cursor });
    const second = await diagnosis.gql<{ _entities: Array<{ consultations: Page }> }>(PAGE, { id: owner().id, first: 1, after: page1.pageInfo.endCursor }, owner());
    const page2 = second.data!._entities[0]!.consultations;
    expect(page2.edges).toHaveLength(1);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(Date.parse(page2.edges[0]!.node.startedAt)).toBeLessThan(Date.parse(page1.edges[0]!.node.startedAt));
    expect(page2.edges[0]!.node.id).not.toBe(page1.edges[0]!.node.id);
  });

  it.each([
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ after: 'bm9wZQ' }, 'after'],
  ])('refuses %j with BAD_USER_INPUT on the argument', async (args, field) => {
    const result = await diagnosis.gql(PAGE, { id: owner().id, ...args }, owner());
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});

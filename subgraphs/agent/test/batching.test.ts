import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAgent } from '../src/seed.js';
import { countRows, startQuietAgent, type Agent } from './harness.js';

let agent: Agent;
const userIds = Array.from({ length: 20 }, () => randomUUID());
const clinician = { id: randomUUID(), roles: ['USER', 'CLINICIAN'] };

beforeAll(async () => {
  agent = await startQuietAgent();
  await seedAgent(agent.database, { userIds });
});
afterAll(async () => {
  await agent?.close();
});

const USERS = /* GraphQL */ `
  query ($representations: [_Any!]!) {
    _entities(representations: $representations) {
      ... on User {
        id
        conversations(first: 10) { edges { node { messages(first: 10) { edges { node { text } } } } } }
      }
    }
  }
`;

interface UserView {
  id: string;
  conversations: { edges: Array<{ node: { messages: { edges: Array<{ node: { text: string } }> } } }> };
}

async function readUsers(count: number, query = USERS) {
  const representations = userIds.slice(0, count).map((id) => ({ __typename: 'User', id }));
  const { result, statements } = await agent.countStatements(() => agent.gql<{ _entities: UserView[] }>(query, { representations }, clinician));
  expect(result.errors).toBeUndefined();
  const users = result.data!._entities;
  // Every user really has data, so an empty answer cannot pass for a batched one.
  expect(users).toHaveLength(count);
  for (const [i, user] of users.entries()) {
    expect(user.id).toBe(userIds[i]);
    expect(user.conversations.edges).toHaveLength(2);
    for (const { node } of user.conversations.edges) expect(node.messages.edges).toHaveLength(2);
  }
  return statements;
}

describe('batching', () => {
  it('resolves 2 and 20 users’ conversations and messages with the same statements: one per loader', async () => {
    const two = await readUsers(2);
    const twenty = await readUsers(20);
    console.info(`_entities User → conversations → messages statements: 2 users → ${two}, 20 users → ${twenty}`);
    expect(twenty).toBe(two);
    // conversation pages, message pages, and the audit INSERT (one per request, whatever the number of ids; tests/audit.test.ts).
    expect(two).toBe(3);
  });

  it('adds one statement for the agents of every conversation, whatever their number', async () => {
    const query = USERS.replace('node { messages', 'node { agent { id name } messages');
    const two = await readUsers(2, query);
    const twenty = await readUsers(20, query);
    // conversation pages, agents, message pages, and the audit INSERT.
    expect([two, twenty]).toEqual([4, 4]);
  });

  it('resolves 2 and 20 Conversation references with one statement per loader', async () => {
    const page = await agent.gql<{ _entities: Array<{ conversations: { edges: Array<{ node: { id: string } }> } }> }>(
      `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User { conversations { edges { node { id } } } } } }`,
      { representations: userIds.map((id) => ({ __typename: 'User', id })) },
      clinician,
    );
    const ids = page.data!._entities.flatMap((u) => u.conversations.edges.map((e) => e.node.id));
    const query = `query ($representations: [_Any!]!) { _entities(representations: $representations) {
      ... on Conversation { id agent { id } messages(first: 5) { edges { node { role citations { __typename } } } } } } }`;
    const counts: number[] = [];
    for (const n of [2, 20]) {
      const representations = ids.slice(0, n).map((id) => ({ __typename: 'Conversation', id }));
      const { result, statements } = await agent.countStatements(() =>
        agent.gql<{ _entities: Array<{ id: string; messages: { edges: unknown[] } } | null> }>(query, { representations }, clinician),
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities.map((c) => c?.id)).toEqual(ids.slice(0, n));
      expect(result.data!._entities.every((c) => c?.messages.edges.length === 2)).toBe(true);
      counts.push(statements);
    }
    // conversations by id, agents by id, message pages, and the audit INSERT.
    expect(counts).toEqual([4, 4]);
  });

  it('sends no SQL for representations whose id is not a UUID', async () => {
    const { result, statements } = await agent.countStatements(() =>
      agent.gql<{ _entities: UserView[] }>(USERS, { representations: [{ __typename: 'User', id: 'legacy-42' }] }, clinician),
    );
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities[0]).toEqual({ id: 'legacy-42', conversations: { edges: [] } });
    expect(statements).toBe(0);
  });
});

describe('pages', () => {
  const owner = () => ({ id: userIds[0]! });
  const CONVERSATIONS = `query ($id: ID!, $first: Int, $after: String) { _entities(representations: [{ __typename: "User", id: $id }]) {
    ... on User { conversations(first: $first, after: $after) { edges { cursor node { id updatedAt
      messages(first: 1) { edges { cursor node { role text citations { __typename ... on Constitution { code } ... on Article { id } } } } pageInfo { hasNextPage endCursor } } } }
      pageInfo { hasNextPage endCursor } } } } }`;

  it('pages conversations most recently active first, and messages newest first, with cursors', async () => {
    type Page = { edges: Array<{ cursor: string; node: { id: string; updatedAt: string; messages: any } }>; pageInfo: { hasNextPage: boolean; endCursor: string } };
    const read = async (after?: string) =>
      (await agent.gql<{ _entities: Array<{ conversations: Page }> }>(CONVERSATIONS, { id: owner().id, first: 1, after }, owner())).data!._entities[0]!
        .conversations;
    const page1 = await read();
    expect(page1.pageInfo).toEqual({ hasNextPage: true, endCursor: page1.edges[0]!.cursor });
    const page2 = await read(page1.pageInfo.endCursor);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(Date.parse(page2.edges[0]!.node.updatedAt)).toBeLessThan(Date.parse(page1.edges[0]!.node.updatedAt));
    // The seeded XiaoAI conversation is the most recent: its reply comes first, then the question.
    const messages = page1.edges[0]!.node.messages;
    expect(messages.edges[0].node.role).toBe('AGENT');
    expect(messages.edges[0].node.citations).toEqual([
      { __typename: 'Constitution', code: 'QI_DEFICIENT' },
      { __typename: 'Article', id: 'qi-deficiency-care' },
    ]);
    expect(messages.pageInfo.hasNextPage).toBe(true);
    const older = await agent.gql<{ conversation: { messages: { edges: Array<{ node: { role: string } }>; pageInfo: { hasNextPage: boolean } } } }>(
      `query ($id: ID!, $after: String) { conversation(id: $id) { messages(first: 5, after: $after) { edges { node { role } } pageInfo { hasNextPage } } } }`,
      { id: page1.edges[0]!.node.id, after: messages.pageInfo.endCursor },
      owner(),
    );
    expect(older.data!.conversation.messages).toEqual({ edges: [{ node: { role: 'USER' } }], pageInfo: { hasNextPage: false } });
  });
});

describe('seedAgent', () => {
  it('is idempotent: a second run stores nothing', async () => {
    const before = [await countRows(agent.database, 'conversations'), await countRows(agent.database, 'messages')];
    expect(await seedAgent(agent.database, { userIds })).toEqual({ conversations: 0, messages: 0 });
    expect([await countRows(agent.database, 'conversations'), await countRows(agent.database, 'messages')]).toEqual(before);
    expect(before).toEqual([40, 80]);
  });

  it('refuses ids that are not UUIDs', async () => {
    await expect(seedAgent(agent.database, { userIds: ['x'] })).rejects.toThrow(/must be UUIDs/);
  });
});

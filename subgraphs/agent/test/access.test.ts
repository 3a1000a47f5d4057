import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServiceToken } from '@suoke/platform/testing';
import { codes, countRows, messagesOf, send, sent, startQuietAgent, type Agent } from './harness.js';

let agent: Agent;
const owner = { id: randomUUID() };
const stranger = { id: randomUUID() };
const clinician = { id: randomUUID(), roles: ['USER', 'CLINICIAN'] };
let conversationId: string;

type Data = Record<string, any>;

beforeAll(async () => {
  agent = await startQuietAgent();
  conversationId = (await sent(agent, owner, { agentId: 'xiaoai', text: '你好' })).conversation.id;
});
afterAll(async () => {
  await agent?.close();
});

const CONVERSATION = `query ($id: ID!) { conversation(id: $id) { id messages { edges { node { text } } } } }`;
const USER = /* GraphQL */ `
  query ($id: ID!) {
    _entities(representations: [{ __typename: "User", id: $id }]) {
      ... on User { id conversations(first: 5) { edges { node { id agent { id } } } } }
    }
  }
`;
const ENTITY = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Conversation { id agent { id } } } }`;

describe('anonymous callers', () => {
  it('read the agents', async () => {
    const result = await agent.gql<Data>(`{ agents { id name nameEn role capabilities } agent(id: "LaoKe") { id name } }`);
    expect(result.errors).toBeUndefined();
    expect(result.data!.agents.map((a: Data) => [a.id, a.name, a.role])).toEqual([
      ['xiaoai', '小艾', 'HEALTH_ASSISTANT'],
      ['xiaoke', '小克', 'SERVICES'],
      ['laoke', '老克', 'KNOWLEDGE'],
      ['soer', '索儿', 'LIFESTYLE'],
    ]);
    expect(result.data!.agent).toEqual({ id: 'laoke', name: '老克' });
    expect((await agent.gql<Data>(`{ agent(id: "nobody") { id } }`)).data!.agent).toBeNull();
  });

  it('are UNAUTHENTICATED on sendMessage and conversation, and nothing is stored', async () => {
    const before = await countRows(agent.database, 'messages');
    expect(codes(await send(agent, undefined, { agentId: 'xiaoai', text: '你好' }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await agent.gql(CONVERSATION, { id: conversationId }))).toEqual(['UNAUTHENTICATED']);
    expect(await countRows(agent.database, 'messages')).toBe(before);
  });

  it('get null user fields and no conversation references', async () => {
    const user = await agent.gql<Data>(USER, { id: owner.id });
    expect(user.data!._entities[0]).toEqual({ id: owner.id, conversations: null });
    expect(codes(user)).toEqual(['UNAUTHENTICATED']);
    const entity = await agent.gql<Data>(ENTITY, { representations: [{ __typename: 'Conversation', id: conversationId }] });
    expect(entity.data!._entities).toEqual([null]);
    expect(codes(entity)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('another user', () => {
  it('gets NOT_FOUND for the owner’s conversation, exactly as for one that does not exist', async () => {
    const foreign = await agent.gql(CONVERSATION, { id: conversationId }, stranger);
    const unknownId = randomUUID();
    const unknown = await agent.gql(CONVERSATION, { id: unknownId }, stranger);
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    expect(foreign.errors![0]!.message).toBe(unknown.errors![0]!.message.replace(unknownId, conversationId));
    expect(codes(await agent.gql(CONVERSATION, { id: 'not-a-uuid' }, stranger))).toEqual(['NOT_FOUND']);
  });

  it('cannot write into the owner’s conversation (NOT_FOUND, nothing stored)', async () => {
    const before = await countRows(agent.database, 'messages');
    const result = await send(agent, stranger, { agentId: 'xiaoai', text: '插一句', conversationId });
    expect(result.data!.sendMessage).toBeNull();
    expect(codes(result)).toEqual(['NOT_FOUND']);
    expect(await countRows(agent.database, 'messages')).toBe(before);
    expect((await messagesOf(agent, owner, conversationId)).map((m) => m.text)).not.toContain('插一句');
  });

  it('gets FORBIDDEN and null for the owner’s conversations, and for references to them', async () => {
    const user = await agent.gql<Data>(USER, { id: owner.id }, stranger);
    expect(user.data!._entities[0]).toEqual({ id: owner.id, conversations: null });
    expect(codes(user)).toEqual(['FORBIDDEN']);
    const representations = [conversationId, randomUUID(), 'nope'].map((id) => ({ __typename: 'Conversation', id }));
    const entity = await agent.gql<Data>(ENTITY, { representations }, stranger);
    expect(entity.data!._entities).toEqual([null, null, null]);
    expect(codes(entity)).toEqual(['FORBIDDEN']);
    expect(entity.errors![0]!.path).toEqual(['_entities', 0]);
  });
});

describe('the owner and holders of health:read:any', () => {
  it('the owner reads their conversations and references', async () => {
    const user = await agent.gql<Data>(USER, { id: owner.id }, owner);
    expect(user.errors).toBeUndefined();
    expect(user.data!._entities[0].conversations.edges).toEqual([{ node: { id: conversationId, agent: { id: 'xiaoai' } } }]);
    const entity = await agent.gql<Data>(ENTITY, { representations: [{ __typename: 'Conversation', id: conversationId }] }, owner);
    expect(entity.data!._entities).toEqual([{ id: conversationId, agent: { id: 'xiaoai' } }]);
  });

  it('a clinician reads the user’s conversations and references, but not through the owner-only root field', async () => {
    const user = await agent.gql<Data>(USER, { id: owner.id }, clinician);
    expect(user.errors).toBeUndefined();
    expect(user.data!._entities[0].conversations.edges).toHaveLength(1);
    const entity = await agent.gql<Data>(ENTITY, { representations: [{ __typename: 'Conversation', id: conversationId }] }, clinician);
    expect(entity.data!._entities).toEqual([{ id: conversationId, agent: { id: 'xiaoai' } }]);
    expect(codes(await agent.gql(CONVERSATION, { id: conversationId }, clinician))).toEqual(['NOT_FOUND']);
    expect(codes(await send(agent, clinician, { agentId: 'xiaoai', text: '替他问', conversationId }))).toEqual(['NOT_FOUND']);
  });

  it('an account whose id is not a UUID holds no conversations', async () => {
    expect(codes(await send(agent, { id: 'not-a-uuid' }, { agentId: 'xiaoai', text: '你好' }))).toEqual(['FORBIDDEN']);
  });

  it("the agent's own service token is not a user: it cannot converse", async () => {
    expect(codes(await send(agent, await testServiceToken('agent', []), { agentId: 'xiaoai', text: '你好' }))).toEqual(['FORBIDDEN']);
  });
});

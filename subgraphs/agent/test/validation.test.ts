import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, countRows, send, sent, startQuietAgent, type Agent } from './harness.js';

let agent: Agent;
const user = () => ({ id: randomUUID() });

beforeAll(async () => {
  agent = await startQuietAgent();
});
afterAll(async () => {
  await agent?.close();
});

describe('sendMessage input', () => {
  it.each([
    ['an empty text', ''],
    ['white space only', ' \n\t　 '],
    ['2001 characters', '气'.repeat(2001)],
  ])('refuses %s with BAD_USER_INPUT on input.text, storing nothing', async (_name, text) => {
    const before = await countRows(agent.database, 'messages');
    const result = await send(agent, user(), { agentId: 'xiaoai', text });
    expect(result.data!.sendMessage).toBeNull();
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.text' });
    expect(result.errors![0]!.message).toMatch(/1–2000 characters after trimming; received/);
    expect(await countRows(agent.database, 'messages')).toBe(before);
  });

  it('accepts 2000 characters (code points, so emoji count once) and stores the text trimmed', async () => {
    const text = '😀'.repeat(1999) + '气';
    const result = await sent(agent, user(), { agentId: 'xiaoai', text: `  ${text}\n` });
    expect(result.message.text).toBe(text);
    expect(result.message).toMatchObject({ role: 'USER', degraded: false, provider: null, citations: [] });
  });

  it('refuses an unknown agent with BAD_USER_INPUT on input.agentId', async () => {
    const result = await send(agent, user(), { agentId: 'doctor', text: '你好' });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.agentId' });
    expect(result.errors![0]!.message).toBe('agentId must be one of xiaoai, xiaoke, laoke, soer; received "doctor"');
  });

  it('accepts an agent id in any case', async () => {
    expect((await sent(agent, user(), { agentId: 'SoEr', text: '你好' })).conversation.agent.id).toBe('soer');
  });

  it('refuses to continue a conversation with another agent', async () => {
    const caller = user();
    const { conversation } = await sent(agent, caller, { agentId: 'xiaoai', text: '你好' });
    const result = await send(agent, caller, { agentId: 'laoke', text: '你好', conversationId: conversation.id });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.agentId' });
  });

  it('continues a conversation: same id, later updatedAt, messages in order', async () => {
    const caller = user();
    const first = await sent(agent, caller, { agentId: 'xiaoke', text: '第一句' });
    const second = await sent(agent, caller, { agentId: 'xiaoke', text: '第二句', conversationId: first.conversation.id });
    expect(second.conversation.id).toBe(first.conversation.id);
    expect(second.conversation.createdAt).toBe(first.conversation.createdAt);
    expect(Date.parse(second.conversation.updatedAt)).toBeGreaterThanOrEqual(Date.parse(first.conversation.updatedAt));
    const page = await agent.gql<{ conversation: { messages: { edges: Array<{ node: { text: string } }> } } }>(
      `query ($id: ID!) { conversation(id: $id) { messages(first: 3) { edges { node { text } } } } }`,
      { id: first.conversation.id },
      caller,
    );
    expect(page.data!.conversation.messages.edges.map((e) => e.node.text)).toEqual([second.reply.text, '第二句', first.reply.text]);
  });

  it('nulls only the refused call: the rest of the operation resolves', async () => {
    const result = await agent.gql<{ bad: unknown; good: { message: { text: string } } }>(
      `mutation { bad: sendMessage(input: { agentId: "xiaoai", text: "" }) { message { id } } good: sendMessage(input: { agentId: "xiaoai", text: "你好" }) { message { text } } }`,
      {},
      user(),
    );
    expect(result.data).toEqual({ bad: null, good: { message: { text: '你好' } } });
    expect(result.errors!.map((e) => [e.path, e.extensions?.code])).toEqual([[['bad'], 'BAD_USER_INPUT']]);
  });

  it('gives NOT_FOUND for a conversation id that is not a UUID', async () => {
    expect(codes(await send(agent, user(), { agentId: 'xiaoai', text: '你好', conversationId: 'abc' }))).toEqual(['NOT_FOUND']);
  });
});

describe('the rate limit', () => {
  it('allows 20 messages a minute per user: the 21st is RATE_LIMITED, and other users are unaffected', async () => {
    const caller = user();
    const results = [];
    for (let i = 0; i < 21; i += 1) results.push(await send(agent, caller, { agentId: 'soer', text: `第${i}条` }));
    expect(results.slice(0, 20).every((r) => r.errors === undefined)).toBe(true);
    expect(codes(results[20]!)).toEqual(['RATE_LIMITED']);
    expect(results[20]!.data!.sendMessage).toBeNull();
    expect((await send(agent, user(), { agentId: 'soer', text: '我没超' })).errors).toBeUndefined();
  });
});

describe('connections', () => {
  it.each([
    [{ first: 0 }, 'first'],
    [{ first: 101 }, 'first'],
    [{ after: 'bm9wZQ' }, 'after'],
    [{ after: Buffer.from('[-1]').toString('base64url') }, 'after'],
  ])('Conversation.messages refuses %j with BAD_USER_INPUT on the argument', async (args, field) => {
    const caller = user();
    const { conversation } = await sent(agent, caller, { agentId: 'xiaoai', text: '你好' });
    const result = await agent.gql(
      `query ($id: ID!, $first: Int, $after: String) { conversation(id: $id) { messages(first: $first, after: $after) { edges { cursor } } } }`,
      { id: conversation.id, ...args },
      caller,
    );
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });
});

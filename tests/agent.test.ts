import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startStack, type Stack } from './harness.js';

// The four agents through the gateway: the agent subgraph answers (offline
// provider), searching the knowledge base back through the gateway; the
// citations it returns are entity references the knowledge subgraph resolves.

const SEND = `mutation($input: SendMessageInput!) {
  sendMessage(input: $input) {
    conversation { id agent { id name } }
    reply { role text degraded }
    citations {
      __typename
      ... on Constitution { code name }
      ... on Herb { id name latinName }
      ... on Acupoint { code name }
      ... on Syndrome { code name }
      ... on Article { id title }
    }
  }
}`;

const QUESTIONS: Record<string, string> = {
  xiaoai: '我最近总是疲劳乏力，是气虚吗？',
  xiaoke: '我想预约一次体质调理，推荐什么方案？',
  laoke: '黄芪有什么作用？',
  soer: '晚上睡不好，有什么作息建议？',
};

let stack: Stack;
let token: string;
beforeAll(async () => {
  stack = await startStack();
  const registered = await stack.query('mutation($input: RegisterInput!) { register(input: $input) { accessToken } }', {
    input: { email: `chat-${Date.now()}@example.com`, password: 'four-agents-2026', displayName: '李雷' },
  });
  token = registered.data?.register.accessToken;
});
afterAll(async () => {
  await stack?.stop();
});

describe('chatting with the agents through the gateway', () => {
  it('lists the four agents', async () => {
    const response = await stack.query('{ agents { id name } }');
    expect(response.data?.agents.map((a: { id: string }) => a.id).sort()).toEqual(['laoke', 'soer', 'xiaoai', 'xiaoke']);
  });

  it.each(Object.entries(QUESTIONS))('%s replies and cites knowledge entities resolved by the knowledge subgraph', async (agentId, text) => {
    const response = await stack.query(SEND, { input: { agentId, text } }, token);
    expect(response.errors).toBeUndefined();
    const payload = response.data?.sendMessage;
    expect(payload.conversation.agent.id).toBe(agentId);
    expect(payload.reply.role).toBe('AGENT');
    expect(payload.reply.text.length).toBeGreaterThan(0);
    expect(payload.citations.length).toBeGreaterThan(0);
    for (const citation of payload.citations) {
      // Every field below is resolved by the knowledge subgraph, not the agent's stub.
      const name = citation.name ?? citation.title;
      expect(typeof name, JSON.stringify(citation)).toBe('string');
      expect(name.length).toBeGreaterThan(0);
    }
  });

  it('keeps the conversation on the user and refuses empty text', async () => {
    const conversations = await stack.query('{ me { conversations(first: 10) { edges { node { agent { id } messages(first: 10) { edges { node { role } } } } } } } }', {}, token);
    expect(conversations.errors).toBeUndefined();
    const nodes = conversations.data?.me.conversations.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.agent.id).sort()).toEqual(['laoke', 'soer', 'xiaoai', 'xiaoke']);
    expect(nodes.every((n: any) => n.messages.edges.map((m: any) => m.node.role).sort().join() === 'AGENT,USER')).toBe(true);
    const empty = await stack.query(SEND, { input: { agentId: 'xiaoai', text: '   ' } }, token);
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);
    const anonymous = await stack.query(SEND, { input: { agentId: 'xiaoai', text: '你好' } });
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
  });
});

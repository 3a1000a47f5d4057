import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Database, SubgraphDefinition } from '@suoke/platform';
import { startTestSubgraph, type TestGraphQLResponse } from '@suoke/platform/testing';
import type { AgentConfig } from '../src/config.js';
import { personalCitations, summariseForProvider } from '../src/service/personal-context.js';
import { createAgentSubgraph, definition, type AgentSubgraph, type AgentSubgraphOptions } from '../src/server.js';

export type GraphQLResponse<T = Record<string, unknown>> = TestGraphQLResponse<T>;

export type Caller = { id: string; roles?: string[] } | undefined;

export interface StartAgentOptions extends Pick<AgentSubgraphOptions, 'primary' | 'offline' | 'knowledge' | 'reportKnowledge' | 'personal' | 'reminders' | 'appointments'> {
  /** Added to the test configuration, e.g. LLM_BASE_URL, GATEWAY_URL, BREAKER_RESET_MS. */
  env?: Record<string, string>;
}

/** Personal data for a subgraph tested alone: every user has granted nothing. */
export const NOBODY_CONSENTED = { source: { load: async () => null }, summarise: summariseForProvider, cite: personalCitations };

/**
 * The agent subgraph on port 0 over a fresh database, called over HTTP as the
 * gateway calls it. `subgraph` is the instance, for its reply statistics.
 * Tests always name the gateway (GATEWAY_URL): a default would reach whatever
 * listens on :4000.
 */
export async function startAgent(options: StartAgentOptions & { env: { GATEWAY_URL: string } & Record<string, string> }) {
  let instance: AgentSubgraph | undefined;
  const { env, ...rest } = options;
  // A subgraph alone has no gateway to mint delegated tokens through: by default nobody has consented.
  const overrides = { personal: NOBODY_CONSENTED, ...rest };
  const custom: SubgraphDefinition<AgentConfig> = {
    ...definition,
    create: (createOptions) => (instance = createAgentSubgraph({ ...createOptions, ...overrides })),
  };
  const started = await startTestSubgraph(custom as unknown as SubgraphDefinition, {
    env: {
      REPLY_CACHE_TTL_SECONDS: '600',
      // With REDIS_URL the reply cache is in Redis: a fresh prefix keeps earlier runs' replies out.
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REPLY_CACHE_PREFIX: `suoke:test:${randomUUID()}:` } : {}),
      ...env,
    },
  });
  return {
    ...started,
    get subgraph(): AgentSubgraph {
      if (!instance) throw new Error('the agent subgraph was not created');
      return instance;
    },
  };
}

export type Agent = Awaited<ReturnType<typeof startAgent>>;

export function codes(response: GraphQLResponse<unknown>): Array<string | undefined> {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}

export async function countRows(database: Database, table: 'conversations' | 'messages' | 'agents'): Promise<number> {
  const rows = await database.rows<{ n: number }>(sql`select count(*)::int as n from ${sql.raw(`"agent".${table}`)}`);
  return rows[0]?.n ?? 0;
}

export const MESSAGE_FIELDS = /* GraphQL */ `
  id role text createdAt degraded provider
  citations { __typename ... on Constitution { code } ... on Herb { id } ... on Acupoint { code } ... on Syndrome { code } ... on Article { id } }
`;

export const SEND = /* GraphQL */ `
  mutation ($input: SendMessageInput!) {
    sendMessage(input: $input) {
      conversation { id agent { id name } createdAt updatedAt }
      message { ${MESSAGE_FIELDS} }
      reply { ${MESSAGE_FIELDS} }
      citations { __typename ... on Constitution { code } ... on Herb { id } ... on Acupoint { code } ... on Syndrome { code } ... on Article { id } }
    }
  }
`;

export interface MessageView {
  id: string;
  role: 'USER' | 'AGENT';
  text: string;
  createdAt: string;
  degraded: boolean;
  provider: 'OPENAI_COMPATIBLE' | 'OFFLINE' | null;
  citations: Array<Record<string, string>>;
}

export interface SendView {
  conversation: { id: string; agent: { id: string; name: string }; createdAt: string; updatedAt: string };
  message: MessageView;
  reply: MessageView;
  citations: Array<Record<string, string>>;
}

/** Sends a message and returns the response as is. */
export function send(agent: Agent, caller: Caller, input: { agentId: string; text: string; conversationId?: string }) {
  return agent.gql<{ sendMessage: SendView | null }>(SEND, { input }, caller);
}

/** Sends a message that must succeed, and returns what it produced. */
export async function sent(agent: Agent, caller: Caller, input: { agentId: string; text: string; conversationId?: string }): Promise<SendView> {
  const result = await send(agent, caller, input);
  if (result.errors) throw new Error(`sendMessage failed: ${JSON.stringify(result.errors)}`);
  return result.data!.sendMessage!;
}

/** The messages of a conversation, newest first, as its owner reads them. */
export async function messagesOf(agent: Agent, caller: Caller, conversationId: string): Promise<MessageView[]> {
  const result = await agent.gql<{ conversation: { messages: { edges: Array<{ node: MessageView }> } } }>(
    `query ($id: ID!) { conversation(id: $id) { messages(first: 100) { edges { node { ${MESSAGE_FIELDS} } } } } }`,
    { id: conversationId },
    caller,
  );
  if (result.errors) throw new Error(`conversation failed: ${JSON.stringify(result.errors)}`);
  return result.data!.conversation.messages.edges.map((e) => e.node);
}

/** A knowledge base that finds nothing, for tests about something else (no gateway needed). */
export const NO_KNOWLEDGE = { search: async () => ({ reachable: true, hits: [] }) };

/** The agent subgraph with the offline responder and an empty knowledge base. */
export function startQuietAgent() {
  return startAgent({ knowledge: NO_KNOWLEDGE, env: { GATEWAY_URL: 'http://127.0.0.1:9/graphql' } });
}

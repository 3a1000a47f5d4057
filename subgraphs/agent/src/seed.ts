import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Database, arrayParam, isUuid, rowsOf } from '@suoke/platform';
import { selectAgents } from './db/queries.js';
import type { AgentRow, CitationRef } from './db/schema.js';
import { offlineReply } from './providers/offline.js';
import type { KnowledgeHit } from './providers/types.js';
import { seedPractitioners } from './seed-care.js';

export { seedPractitioners, SEED_PRACTITIONERS } from './seed-care.js';

export interface SeedAgentOptions {
  /** Users to seed (ids from the user subgraph). */
  userIds: string[];
  /** The instant seeding happens at; conversations are dated before it. Default: now. */
  now?: Date;
}

export interface SeedAgentResult {
  /** Conversations created; those seeded before are left as they are. */
  conversations: number;
  messages: number;
}

/** Users per transaction: two statements each, whatever the number of users in it. */
const CHUNK = 1000;
const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * A question and the knowledge its seeded reply cites. The keys are the
 * knowledge subgraph's (constitution codes, article slugs); the reply is
 * written by the offline responder, exactly as it would answer.
 */
interface Scripted {
  agentId: string;
  question: string;
  hits: KnowledgeHit[];
}

const SCRIPTS: Scripted[] = [
  {
    agentId: 'xiaoai',
    question: '最近总是觉得累，说话都没力气，是气虚吗？',
    hits: [
      { kind: 'CONSTITUTION', key: 'QI_DEFICIENT', title: '气虚质', summary: '元气不足，以疲乏、气短、自汗等气虚表现为主要特征。', score: 1 },
      { kind: 'ARTICLE', key: 'qi-deficiency-care', title: '《总是觉得累？气虚质的日常调养》', summary: '气虚质的饮食、运动与作息调养要点。', score: 0.9 },
    ],
  },
  {
    agentId: 'soer',
    question: '晚上总是睡不着，早上又起不来，怎么办？',
    hits: [{ kind: 'ARTICLE', key: 'yin-deficiency-dryness', title: '《口干、失眠、手心热：阴虚质的滋润之道》', summary: '阴虚质的滋阴调养与睡眠建议。', score: 0.6 }],
  },
];

/**
 * Gives every user a conversation with XiaoAI and one with SoEr, each a
 * question and the offline responder's reply with its citations. Ids derive
 * from (user, n), so a second run stores nothing. Statements are batched: one
 * to read the agents, then two per CHUNK users.
 */
export async function seedAgent(database: Database, options: SeedAgentOptions): Promise<SeedAgentResult> {
  const invalid = options.userIds.filter((id) => !isUuid(id));
  if (invalid.length > 0) throw new Error(`seedAgent: user ids must be UUIDs; received ${invalid.join(', ')}`);
  const userIds = [...new Set(options.userIds.map((id) => id.toLowerCase()))];
  // XiaoKe's practitioners and their slots over the coming weeks, whoever the users are.
  await seedPractitioners(database, seedUuid, { ...(options.now ? { now: options.now } : {}) });
  if (userIds.length === 0) return { conversations: 0, messages: 0 };
  const now = options.now ?? new Date();
  const agents = new Map((await selectAgents(database)).map((agent) => [agent.id, agent]));
  const replies = SCRIPTS.map((script) => replyOf(script, agents.get(script.agentId)));
  const result: SeedAgentResult = { conversations: 0, messages: 0 };
  for (let start = 0; start < userIds.length; start += CHUNK) {
    const stored = await store(database, userIds.slice(start, start + CHUNK), replies, now);
    result.conversations += stored.conversations;
    result.messages += stored.messages;
  }
  return result;
}

function replyOf(script: Scripted, agent: AgentRow | undefined): { script: Scripted; text: string; citations: CitationRef[] } {
  if (!agent) throw new Error(`seedAgent: agent ${script.agentId} is missing; run the migrations first`);
  const text = offlineReply({ agent, question: script.question, history: [], knowledge: { reachable: true, hits: script.hits } });
  return { script, text, citations: script.hits.map(({ kind, key }) => ({ kind, key })) };
}

/** A UUID (version 5 layout) fixed by `name`. */
export function seedUuid(name: string): string {
  const bytes = createHash('sha1').update(`suoke-agent-seed:${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A number in [0, 1) fixed by its inputs. */
function unit(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('|')).digest().readUInt32BE(0) / 2 ** 32;
}

async function store(
  database: Database,
  userIds: readonly string[],
  replies: ReadonlyArray<{ script: Scripted; text: string; citations: CitationRef[] }>,
  now: Date,
): Promise<SeedAgentResult> {
  const conversations = userIds.flatMap((userId) =>
    replies.map((reply, n) => {
      const startedAt = new Date(now.getTime() - (1 + n * 3) * DAY - Math.floor(unit(userId, n) * DAY));
      return { id: seedUuid(`${userId}:${n}`), userId, agentId: reply.script.agentId, startedAt, repliedAt: new Date(startedAt.getTime() + MINUTE), reply };
    }),
  );
  const messages = conversations.flatMap((c) => [
    { id: seedUuid(`${c.id}:question`), conversationId: c.id, role: 'USER', text: c.reply.script.question, provider: null, citations: [], at: c.startedAt },
    { id: seedUuid(`${c.id}:reply`), conversationId: c.id, role: 'AGENT', text: c.reply.text, provider: 'OFFLINE', citations: c.reply.citations, at: c.repliedAt },
  ]);
  return database.db.transaction(async (tx) => {
    const inserted = await tx.execute(sql`
      insert into "agent".conversations (id, user_id, agent_id, created_at, updated_at)
      select id, user_id, agent_id, created_at, updated_at
      from unnest(
        ${arrayParam(conversations.map((c) => c.id), 'uuid')},
        ${arrayParam(conversations.map((c) => c.userId), 'uuid')},
        ${arrayParam(conversations.map((c) => c.agentId), 'text')},
        ${arrayParam(conversations.map((c) => c.startedAt), 'timestamptz')},
        ${arrayParam(conversations.map((c) => c.repliedAt), 'timestamptz')}
      ) as t(id, user_id, agent_id, created_at, updated_at)
      on conflict (id) do nothing
      returning id`);
    // Inserted in `ord` order, so that `seq` puts each question before its reply.
    const written = await tx.execute(sql`
      insert into "agent".messages (id, conversation_id, role, text, degraded, provider, citations, created_at)
      select id, conversation_id, role, text, false, provider, citations::jsonb, created_at
      from unnest(
        ${arrayParam(messages.map((m) => m.id), 'uuid')},
        ${arrayParam(messages.map((m) => m.conversationId), 'uuid')},
        ${arrayParam(messages.map((m) => m.role), 'text')},
        ${arrayParam(messages.map((m) => m.text), 'text')},
        ${arrayParam(messages.map((m) => m.provider), 'text')},
        ${arrayParam(messages.map((m) => JSON.stringify(m.citations)), 'text')},
        ${arrayParam(messages.map((m) => m.at), 'timestamptz')}
      ) with ordinality as t(id, conversation_id, role, text, provider, citations, created_at, ord)
      order by ord
      on conflict (id) do nothing
      returning id`);
    return { conversations: rowsOf(inserted).length, messages: rowsOf(written).length };
  });
}

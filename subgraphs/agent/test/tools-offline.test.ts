import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_KNOWLEDGE, startAgent, type Agent } from './harness.js';
import { fakeAppointments, fakePersonal, fakeReminders } from './tool-deps.js';
import { ask, askStreamed, readToolCalls, storedCitations } from './tools-harness.js';

// The offline responder drives the same tools by its rules (service/tools/offline-rules.ts), through the same runner:
// reminders in the user's zone, a booking of the earliest slot it listed, the user's own data only with consent, and
// 小艾's hand-off by topic. Blocking and streamed.

let agent: Agent;
const personal = fakePersonal();
const reminders = fakeReminders();
const appointments = fakeAppointments();

beforeAll(async () => {
  agent = await startAgent({ personal, reminders, appointments, knowledge: NO_KNOWLEDGE, env: { GATEWAY_URL: 'http://127.0.0.1:9/graphql', OFFLINE_STREAM_PACE_MS: '0', STREAM_PERSIST_MS: '20' } });
});
afterAll(() => agent?.close());

const tomorrow = (timeZone: string) => {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  const [y, m, d] = parts.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! + 1)).toISOString().slice(0, 10);
};

for (const streamed of [false, true]) {
  const send = async (caller: { id: string }, input: { agentId: string; text: string; timeZone?: string }) =>
    streamed ? (await askStreamed(agent, caller, input)).reply : (await ask(agent, caller, input)).reply;

  describe(`the offline responder's tools, ${streamed ? 'streamed' : 'blocking'}`, () => {
    it('stores the calls with the reply, in order, as the user reads them; the user\'s message has none', async () => {
      const user = { id: randomUUID() };
      personal.grant(user.id, ['HEALTH_SUMMARY']);
      const before = reminders.created.length;
      const sent = streamed
        ? (await askStreamed(agent, user, { agentId: 'soer', text: '每天晚上9点提醒我喝水。我的健康数据怎么样', timeZone: 'UTC' })).sent
        : await ask(agent, user, { agentId: 'soer', text: '每天晚上9点提醒我喝水。我的健康数据怎么样', timeZone: 'UTC' });
      expect(reminders.created.length - before).toBe(1);
      const expected = [
        { name: 'GET_HEALTH_SUMMARY', round: 1, outcome: 'OK', code: null, summary: '已读取你授权的健康数据摘要' },
        { name: 'CREATE_REMINDER', round: 1, outcome: 'OK', code: null, summary: '提醒已创建：每天 21:00 喝水。我的健康数据怎么样' },
      ];
      // As stored: read back through Conversation.messages (newest first), whatever the mutation returned.
      const { messages } = await readToolCalls(agent, user, sent.conversation.id);
      expect(messages.map((m) => [m.role, m.toolCalls])).toEqual([
        ['AGENT', expected],
        ['USER', []],
      ]);
      // Nothing personal beyond the owner's own summary line, and no ids: not the user's, not the reminder's.
      expect(JSON.stringify(messages)).not.toMatch(new RegExp(`${user.id}|reminder-\\d`));
      if (!streamed) expect(sent.reply.toolCalls).toEqual(expected);
    });

    it('shows a refused call with its code, and a second round with its number', async () => {
      const user = { id: randomUUID() };
      const refused = await send(user, { agentId: 'xiaoai', text: '我的健康数据怎么样' });
      expect(refused.toolCalls).toEqual([
        { name: 'GET_HEALTH_SUMMARY', round: 1, outcome: 'REFUSED', code: 'CONSENT_REQUIRED', summary: '读取健康数据摘要：未获你的授权（可在“隐私与授权”里开启），未读取' },
      ]);
      appointments.booked.clear();
      const booked = await send(user, { agentId: 'xiaoke', text: '帮我预约最早的时段' });
      expect(booked.toolCalls).toEqual([
        { name: 'BOOK_APPOINTMENT', round: 1, outcome: 'OK', code: null, summary: '查看了可预约时段：3个' },
        // 01:00Z in Asia/Shanghai, the default zone.
        { name: 'BOOK_APPOINTMENT', round: 2, outcome: 'OK', code: null, summary: '已预约：张医生 12/11 09:00' },
      ]);
      expect(JSON.stringify(booked.toolCalls)).not.toContain('slot-id');
      appointments.booked.clear();
    });

    it('sets a reminder for the caller in their time zone, says so, and sets another when asked again (never a cached "done")', async () => {
      const user = { id: randomUUID() };
      const before = reminders.created.length;
      const text = '明天早上8点提醒我喝水';
      const reply = await send(user, { agentId: 'soer', text, timeZone: 'Europe/Berlin' });
      expect(reply).toMatchObject({ provider: 'OFFLINE', degraded: false });
      expect(reply.text).toContain('已为你设置提醒“喝水”（一次）');
      expect(reminders.created.slice(before)).toEqual([
        { userId: user.id, input: { text: '喝水', startsAt: `${tomorrow('Europe/Berlin')}T08:00`, timeZone: 'Europe/Berlin', recurrence: 'NONE', clientKey: expect.stringMatching(/^agent-tool:/) } },
      ]);
      await send(user, { agentId: 'soer', text, timeZone: 'Europe/Berlin' });
      expect(reminders.created.length - before).toBe(2);
    });

    it('books the earliest slot it listed when asked for the earliest, for the caller', async () => {
      appointments.booked.clear();
      const user = { id: randomUUID() };
      const reply = await send(user, { agentId: 'xiaoke', text: '帮我预约最早的时段' });
      expect(reply.text).toContain('已为你预约：张医生');
      expect(appointments.booked.get(appointments.slots[0]!.id)?.userId).toBe(user.id);
      appointments.booked.clear();
    });

    it("reads the caller's own data only with their grant, and cites it", async () => {
      const user = { id: randomUUID() };
      const refused = await send(user, { agentId: 'xiaoai', text: '我的健康数据怎么样' });
      expect(refused.text).toContain('隐私与授权');
      expect(await storedCitations(agent, refused.id)).toEqual([]);
      personal.grant(user.id, ['HEALTH_SUMMARY']);
      const reply = await send(user, { agentId: 'xiaoai', text: '我的健康数据怎么样' });
      expect(reply.text).toContain('根据你授权读取的近 7 天健康数据：心率 42 次，平均 71.5 bpm（58–96），最近一次 70 bpm。');
      expect(await storedCitations(agent, reply.id)).toEqual([{ kind: 'HEALTH_SUMMARY', key: `${user.id}:7` }]);
      // Revoked: the next message reads nothing.
      personal.grant(user.id, []);
      const after = await send(user, { agentId: 'xiaoai', text: '我的健康数据怎么样' });
      expect(after.text).toContain('隐私与授权');
    });

    it('小艾 hands a services question to 小克, who answers in its own voice in a new conversation', async () => {
      const user = { id: randomUUID() };
      const reply = await send(user, { agentId: 'xiaoai', text: '我想预约中医问诊' });
      expect(reply.text).toContain('我已经把它转给了小克');
      expect(reply.handedOffTo).toMatchObject({ agent: { id: 'xiaoke' } });
      const [answer, question] = reply.handedOffTo!.messages.edges.map((e) => e.node);
      expect(question).toMatchObject({ role: 'USER', text: '我想预约中医问诊' });
      // 小克 lists slots (its own tool) and does not pass the question on again.
      expect(answer!.text).toMatch(/^小克：/);
      expect(answer!.text).toContain('可以预约的时段');
      // 小艾's reply shows the hand-off; 小克's answer its own listing; the question, none.
      expect(reply.toolCalls).toEqual([{ name: 'HAND_OFF', round: 1, outcome: 'OK', code: null, summary: '已转给小克' }]);
      expect(answer!.toolCalls).toEqual([{ name: 'BOOK_APPOINTMENT', round: 1, outcome: 'OK', code: null, summary: '查看了可预约时段：3个' }]);
      expect(question!.toolCalls).toEqual([]);
    });
  });
}

describe('Message.toolCalls', () => {
  it('come with the message rows: a page read with them takes the statements of one read without them', async () => {
    const user = { id: randomUUID() };
    personal.grant(user.id, ['HEALTH_SUMMARY']);
    let conversationId: string | undefined;
    for (let i = 0; i < 3; i += 1) {
      const sent = await ask(agent, user, { agentId: 'soer', text: `明天早上${7 + i}点提醒我喝水。我的健康数据怎么样`, ...(conversationId ? { conversationId } : {}) });
      conversationId = sent.conversation.id;
    }
    const without = await readToolCalls(agent, user, conversationId!, false);
    const withCalls = await readToolCalls(agent, user, conversationId!);
    expect(withCalls.messages.filter((m) => m.role === 'AGENT').map((m) => m.toolCalls!.map((c) => c.name))).toEqual(
      Array.from({ length: 3 }, () => ['GET_HEALTH_SUMMARY', 'CREATE_REMINDER']),
    );
    expect(withCalls.statements).toBe(without.statements);
  });

  it("a cached reply shows the calls of the reply it repeats (read-only calls: a reply with an effect is never cached)", async () => {
    const user = { id: randomUUID() };
    personal.grant(user.id, ['HEALTH_SUMMARY']);
    const text = `我的健康数据怎么样 ${randomUUID()}`;
    const first = await ask(agent, user, { agentId: 'xiaoai', text });
    const hits = agent.subgraph.replies.stats.cacheHits;
    const again = await ask(agent, user, { agentId: 'xiaoai', text });
    expect(agent.subgraph.replies.stats.cacheHits - hits).toBe(1);
    expect(first.reply.toolCalls).toEqual([{ name: 'GET_HEALTH_SUMMARY', round: 1, outcome: 'OK', code: null, summary: '已读取你授权的健康数据摘要' }]);
    expect(again.reply.toolCalls).toEqual(first.reply.toolCalls);
  });
});

describe('Message.handedOffTo', () => {
  it('is batched: a page with one hand-off and a page with three read the same statements', async () => {
    const user = { id: randomUUID() };
    const conversationWith = async (handOffs: number) => {
      let conversationId: string | undefined;
      for (let i = 0; i < handOffs; i += 1) {
        const sent = await ask(agent, user, { agentId: 'xiaoai', text: '我想预约中医问诊', ...(conversationId ? { conversationId } : {}) });
        conversationId = sent.conversation.id;
      }
      return conversationId!;
    };
    const read = async (id: string) => {
      const { result, statements } = await agent.countStatements(() =>
        agent.gql<{ conversation: { messages: { edges: Array<{ node: { handedOffTo: { id: string; agent: { id: string } } | null } }> } } }>(
          `query ($id: ID!) { conversation(id: $id) { messages(first: 20) { edges { node { handedOffTo { id agent { id } } } } } } }`,
          { id },
          user,
        ),
      );
      expect(result.errors).toBeUndefined();
      const linked = result.data!.conversation.messages.edges.map((e) => e.node.handedOffTo).filter(Boolean);
      return { linked, statements };
    };
    const one = await read(await conversationWith(1));
    const three = await read(await conversationWith(3));
    expect(one.linked).toHaveLength(1);
    expect(three.linked).toHaveLength(3);
    expect(new Set(three.linked.map((c) => c!.id)).size).toBe(3);
    expect(three.linked.every((c) => c!.agent.id === 'xiaoke')).toBe(true);
    expect(three.statements).toBe(one.statements);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { modelEnv, script, startFakeGateway, startFakeOpenAi, toolResults, type ChatCompletionRequest, type FakeGateway, type FakeOpenAi, type FakeTurn } from './fakes.js';
import { startAgent, type Agent } from './harness.js';
import { fakeAppointments, fakePersonal, fakeReminders } from './tool-deps.js';
import { ask, askStreamed, storedCitations } from './tools-harness.js';

// The model path with tools, against the fake model speaking the tool-call protocol, blocking and streamed: calls run
// for the verified caller with their consent, malformed calls / unknown tools / loops come back as results the model
// reads (bounded), the personal summary is all a model sees of the person, personal replies are cached per user and
// grant version, replies that changed something are not cached, and 小艾 hands questions off.

let llm: FakeOpenAi;
let gateway: FakeGateway;
let agent: Agent;
const personal = fakePersonal();
const reminders = fakeReminders();
const appointments = fakeAppointments();

beforeAll(async () => {
  llm = await startFakeOpenAi({ streamPaceMs: 2, streamPieceChars: 4 });
  gateway = await startFakeGateway();
  agent = await startAgent({
    personal,
    reminders,
    appointments,
    env: modelEnv(llm, gateway, { AGENT_MAX_TOOL_ROUNDS: '2', OFFLINE_STREAM_PACE_MS: '0', STREAM_PERSIST_MS: '20', BREAKER_VOLUME: '1000' }),
  });
});
afterAll(async () => {
  await agent?.close();
  await llm?.close();
  await gateway?.close();
});
beforeEach(() => llm.set({ streamPaceMs: 2, streamPieceChars: 4 }));

const granted = () => {
  const user = { id: randomUUID() };
  personal.grant(user.id, ['HEALTH_SUMMARY', 'REPORTS']);
  return user;
};
const since = (n: number) => llm.requests.slice(n);
const toolNames = (request: ChatCompletionRequest) => (request.tools ?? []).map((t) => t.function.name);

for (const streamed of [false, true]) {
  const send = async (caller: { id: string }, input: { agentId: string; text: string; timeZone?: string }) =>
    streamed ? (await askStreamed(agent, caller, input)).reply : (await ask(agent, caller, input)).reply;

  describe(`${streamed ? 'streamed' : 'blocking'} replies with tools`, () => {
    it('runs a call for the caller with their consent, replays its result, and cites the personal items used', async () => {
      const user = granted();
      const before = llm.requests.length;
      llm.set({ streamPaceMs: 2, streamPieceChars: 4, respond: script({ toolCalls: [{ name: 'get_latest_report', arguments: {} }] }, { content: '你的报告显示气虚质，注意休息。' }) });
      const reply = await send(user, { agentId: 'xiaoai', text: `我的体质报告怎么样 ${randomUUID()}` });
      expect(reply).toMatchObject({ text: '你的报告显示气虚质，注意休息。', provider: 'OPENAI_COMPATIBLE', degraded: false, handedOffTo: null });
      const [first, second] = since(before);
      expect(toolNames(first!)).toEqual(['search_knowledge', 'get_health_summary', 'get_latest_report', 'create_reminder', 'book_appointment', 'hand_off']);
      // The model reads the summary, never the user's id or the report's.
      const sentText = JSON.stringify([first, second]);
      expect(first!.messages[0]!.content).toContain('用户授权的健康摘要');
      expect(sentText).not.toContain(user.id);
      expect(toolResults(second!)).toEqual([{ ok: true, summary: '用户授权的健康摘要：最近报告：主要体质QI_DEFICIENT' }]);
      expect(await storedCitations(agent, reply.id)).toEqual(
        expect.arrayContaining([
          { kind: 'HEALTH_SUMMARY', key: `${user.id}:7` },
          { kind: 'DIAGNOSIS_REPORT', key: `report-of-${user.id}` },
        ]),
      );
    });

    it('without a grant: nothing personal is sent, the tool answers CONSENT_REQUIRED, nothing personal is cited', async () => {
      const before = llm.requests.length;
      llm.set({ streamPaceMs: 2, streamPieceChars: 4, respond: script({ toolCalls: [{ name: 'get_health_summary', arguments: '' }] }, { content: '需要你先授权。' }) });
      const reply = await send({ id: randomUUID() }, { agentId: 'xiaoai', text: `我的心率正常吗 ${randomUUID()}` });
      const [first, second] = since(before);
      expect(first!.messages[0]!.content).not.toContain('健康摘要');
      expect(toolResults(second!)).toEqual([{ ok: false, error: { code: 'CONSENT_REQUIRED', message: expect.stringContaining('HEALTH_SUMMARY') } }]);
      expect(reply.text).toBe('需要你先授权。');
      expect((await storedCitations(agent, reply.id)).map((c) => c.kind)).not.toContain('HEALTH_SUMMARY');
    });

    it('answers malformed calls, invalid arguments and unknown tools with error results, runs none of them, then takes the answer', async () => {
      const created = reminders.created.length;
      const before = llm.requests.length;
      llm.set({
        streamPaceMs: 2,
        streamPieceChars: 4,
        respond: script(
          {
            toolCalls: [
              { name: 'create_reminder', arguments: '{"text":"喝水","startsAt":' },
              { name: 'create_reminder', arguments: { text: '喝水', startsAt: '明天八点' } },
              { name: 'transfer_money', arguments: { amount: 100 } },
            ],
          },
          { content: '抱歉，提醒没有设置成功。' },
        ),
      });
      const reply = await send(granted(), { agentId: 'soer', text: `提醒我喝水 ${randomUUID()}` });
      expect(reply.text).toBe('抱歉，提醒没有设置成功。');
      expect(toolResults(since(before)[1]!).map((r) => r.error.code)).toEqual(['MALFORMED_ARGUMENTS', 'INVALID_ARGUMENTS', 'UNKNOWN_TOOL']);
      expect(reminders.created.length).toBe(created);
      // Stored with the reply: both refused; a call naming no tool at all ran nothing and has no AgentTool to show.
      const refused = { name: 'CREATE_REMINDER', round: 1, outcome: 'REFUSED', summary: '设置提醒：调用参数无效，未执行' };
      expect(reply.toolCalls).toEqual([
        { ...refused, code: 'MALFORMED_ARGUMENTS' },
        { ...refused, code: 'INVALID_ARGUMENTS' },
      ]);
    });

    it('shows each round of the loop, and a call that failed in its dependency as FAILED', async () => {
      appointments.booked.set(appointments.slots[0]!.id, { userId: randomUUID(), clientKey: 'someone-else' });
      llm.set({
        streamPaceMs: 2,
        streamPieceChars: 4,
        respond: (request) => {
          const results = toolResults(request);
          if (request.messages.at(-1)!.role === 'user') return { toolCalls: [{ name: 'search_knowledge', arguments: { query: '气虚' } }, { name: 'book_appointment', arguments: {} }] };
          // Round 2: a slot the listing did not offer (taken meanwhile, as another user booked it).
          if (results[1]?.slots) return { toolCalls: [{ name: 'book_appointment', arguments: { slotId: results[1].slots[0].slotId } }] };
          return { content: '那个时段刚被约走了。' };
        },
      });
      // The listing shows the open slots; booking the first of them after it was taken gives CONFLICT.
      const listed = appointments.slots.slice(1);
      const take = appointments.openSlots.bind(appointments);
      appointments.openSlots = async (options) => {
        const open = await take(options);
        appointments.booked.set(open[0]!.id, { userId: randomUUID(), clientKey: 'someone-else' });
        return open;
      };
      try {
        const reply = await send(granted(), { agentId: 'xiaoke', text: `约个医生，顺便讲讲气虚 ${randomUUID()}` });
        expect(reply.text).toBe('那个时段刚被约走了。');
        expect(reply.toolCalls.map(({ name, round, outcome, code }) => [name, round, outcome, code])).toEqual([
          ['SEARCH_KNOWLEDGE', 1, 'OK', null],
          ['BOOK_APPOINTMENT', 1, 'OK', null],
          ['BOOK_APPOINTMENT', 2, 'FAILED', 'CONFLICT'],
        ]);
        expect(reply.toolCalls[0]!.summary).toMatch(/^查阅知识库“气虚”：/);
        expect(reply.toolCalls[1]!.summary).toBe(`查看了可预约时段：${listed.length}个`);
        expect(reply.toolCalls[2]!.summary).toBe('预约：该时段已被约走');
      } finally {
        appointments.openSlots = take;
        appointments.booked.clear();
      }
    });

    it('bounds a model that keeps calling tools: AGENT_MAX_TOOL_ROUNDS rounds, then tool_choice none and its answer', async () => {
      const before = llm.requests.length;
      llm.set({
        streamPaceMs: 2,
        streamPieceChars: 4,
        respond: (request) => (request.tool_choice === 'none' ? { content: '综合来看，多休息。' } : { toolCalls: [{ name: 'search_knowledge', arguments: { query: '气虚' } }] }),
      });
      const reply = await send({ id: randomUUID() }, { agentId: 'laoke', text: `气虚怎么办 ${randomUUID()}` });
      const calls = since(before);
      expect(calls.map((c) => c.tool_choice)).toEqual(['auto', 'auto', 'none']);
      expect(reply).toMatchObject({ text: '综合来看，多休息。', provider: 'OPENAI_COMPATIBLE', degraded: false });
    });

    it('a model that still calls tools when told not to, without text, gets the offline responder instead (degraded)', async () => {
      const before = llm.requests.length;
      llm.set({ streamPaceMs: 2, streamPieceChars: 4, respond: () => ({ toolCalls: [{ name: 'search_knowledge', arguments: { query: '气虚' } }] }) });
      const reply = await send({ id: randomUUID() }, { agentId: 'laoke', text: `气虚是什么 ${randomUUID()}` });
      // Not retried: a provider that will not answer is not a transient failure.
      expect(since(before)).toHaveLength(3);
      expect(reply).toMatchObject({ provider: 'OFFLINE', degraded: true });
    });

    it('books only a slot the tools listed in this reply, for the caller, and does not cache a reply that changed something', async () => {
      const user = granted();
      // First round: a slot id the model made up (it names a real slot, but this reply never listed it), and a listing.
      const invented: FakeTurn = { toolCalls: [{ name: 'book_appointment', arguments: { slotId: appointments.slots[2]!.id } }, { name: 'book_appointment', arguments: {} }] };
      llm.set({
        streamPaceMs: 2,
        streamPieceChars: 4,
        respond: (request) => {
          const results = toolResults(request);
          if (request.messages.at(-1)!.role === 'user') return invented;
          if (results[1]?.slots) {
            expect(results[0]!.error.code).toBe('UNKNOWN_ID');
            return { toolCalls: [{ name: 'book_appointment', arguments: { slotId: results[1].slots[0].slotId } }] };
          }
          return { content: `已预约：${results[0]?.appointment?.practitionerName}` };
        },
      });
      const bookings = appointments.bookings.length;
      const question = `帮我约个医生 ${randomUUID()}`;
      const reply = await send(user, { agentId: 'xiaoke', text: question });
      expect(reply.text).toBe('已预约：张医生');
      const mine = appointments.bookings.slice(bookings);
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatchObject({ userId: user.id, slotId: appointments.slots[0]!.id });
      appointments.booked.clear();
      // Asked again: produced again (never a cached "booked" without a booking).
      const calls = llm.requests.length;
      await send(user, { agentId: 'xiaoke', text: question });
      expect(llm.requests.length).toBeGreaterThan(calls);
      appointments.booked.clear();
    });
  });
}

describe('the reply cache and personal data', () => {
  it('keys a reply built on personal data by user and grant version; replies without it stay shared', async () => {
    const question = `最近睡得不好 ${randomUUID()}`;
    const [a, b] = [granted(), granted()];
    const calls = () => llm.calls;
    let n = calls();
    await ask(agent, a, { agentId: 'soer', text: question });
    await ask(agent, a, { agentId: 'soer', text: question });
    expect(calls() - n).toBe(1);
    n = calls();
    await ask(agent, b, { agentId: 'soer', text: question });
    expect(calls() - n).toBe(1);
    // A change of consent: not the reply of the old grant.
    personal.grant(a.id, ['HEALTH_SUMMARY']);
    n = calls();
    await ask(agent, a, { agentId: 'soer', text: question });
    expect(calls() - n).toBe(1);
    // Two users without a grant share one reply.
    n = calls();
    await ask(agent, { id: randomUUID() }, { agentId: 'soer', text: question });
    await ask(agent, { id: randomUUID() }, { agentId: 'soer', text: question });
    expect(calls() - n).toBe(1);
  });
});

describe('hand-off', () => {
  for (const streamed of [false, true]) {
    it(`${streamed ? 'streamed' : 'blocking'}: 小艾 passes the question to 老克, who answers in a new conversation of the same user, in its own voice`, async () => {
      const user = { id: randomUUID() };
      const before = llm.requests.length;
      llm.set({
        streamPaceMs: 2,
        streamPieceChars: 4,
        respond: (request) =>
          request.messages[0]!.content!.includes('小艾') && request.messages.at(-1)!.role === 'user'
            ? { toolCalls: [{ name: 'hand_off', arguments: { agentId: 'laoke', question: '黄芪的功效和禁忌是什么？' } }] }
            : request.messages[0]!.content!.includes('小艾')
              ? { content: '这个问题老克更在行，我已经转给他了。' }
              : { content: '老克：黄芪补气升阳，阴虚火旺者慎用。' },
      });
      const input = { agentId: 'xiaoai', text: `黄芪能天天吃吗 ${randomUUID()}` };
      const reply = streamed ? (await askStreamed(agent, user, input)).reply : (await ask(agent, user, input)).reply;
      expect(reply.text).toBe('这个问题老克更在行，我已经转给他了。');
      expect(reply.handedOffTo).toMatchObject({ agent: { id: 'laoke' } });
      const [answer, question] = reply.handedOffTo!.messages.edges.map((e) => e.node);
      expect(question).toMatchObject({ role: 'USER', text: '黄芪的功效和禁忌是什么？' });
      expect(answer).toMatchObject({ role: 'AGENT', text: '老克：黄芪补气升阳，阴虚火旺者慎用。', provider: 'OPENAI_COMPATIBLE' });
      // 老克 got 小艾's conversation as context, and no hand_off tool.
      const laoke = since(before).find((r) => r.messages[0]!.content!.includes('老克'))!;
      expect(toolNames(laoke)).not.toContain('hand_off');
      expect(laoke.messages.map((m) => m.content)).toContain(input.text);
      // The new conversation is the caller's own: readable by them, NOT_FOUND for anyone else.
      const own = await agent.gql(`query ($id: ID!) { conversation(id: $id) { id } }`, { id: reply.handedOffTo!.id }, user);
      expect(own.errors).toBeUndefined();
      const other = await agent.gql(`query ($id: ID!) { conversation(id: $id) { id } }`, { id: reply.handedOffTo!.id }, { id: randomUUID() });
      expect(other.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    });
  }

  it('is refused to any agent but 小艾 (the tool is not offered, so the call is an unknown tool)', async () => {
    const before = llm.requests.length;
    llm.set({ respond: script({ toolCalls: [{ name: 'hand_off', arguments: { agentId: 'laoke', question: 'x' } }] }, { content: '好的。' }) });
    const { reply } = await ask(agent, { id: randomUUID() }, { agentId: 'soer', text: `转给老克 ${randomUUID()}` });
    expect(reply.handedOffTo).toBeNull();
    expect(toolResults(since(before)[1]!)[0]!.error.code).toBe('UNKNOWN_TOOL');
  });
});

describe('sendMessage input', () => {
  it('refuses an unknown time zone with BAD_USER_INPUT at input.timeZone', async () => {
    const result = await agent.gql(`mutation ($input: SendMessageInput!) { sendMessage(input: $input) { reply { id } } }`, { input: { agentId: 'soer', text: '你好', timeZone: 'Mars/Olympus' } }, { id: randomUUID() });
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.timeZone' });
  });
});

describe('resilience with tools', () => {
  const reminder: FakeTurn = { toolCalls: [{ name: 'create_reminder', arguments: { text: '喝水', startsAt: '2026-12-08T08:00' } }] };

  for (const [failures, outcome] of [
    [1, 'is retried without running its tools again'],
    [3, 'falls back to the offline responder, which renders what ran (once), degraded'],
  ] as const) {
    it(`a round of the loop that fails ${failures === 1 ? 'once' : 'every attempt'} ${outcome}`, async () => {
      const user = granted();
      const before = reminders.created.length;
      llm.set({
        respond: (request) => {
          if (request.messages.at(-1)!.role !== 'user') return { content: '好的，明早八点提醒你喝水。' };
          // The next calls (the attempts of round 2) fail with 503, in order of arrival.
          llm.failNext(failures, 503);
          return reminder;
        },
      });
      const { reply } = await ask(agent, user, { agentId: 'soer', text: `明早八点提醒我喝水 ${randomUUID()}` });
      expect(reminders.created.length - before).toBe(1);
      expect(reminders.created.at(-1)!.userId).toBe(user.id);
      // Shown once, as the model's round 1 (neither the retried round nor the stand-in ran it again).
      expect(reply.toolCalls).toEqual([{ name: 'CREATE_REMINDER', round: 1, outcome: 'OK', code: null, summary: expect.stringMatching(/^提醒已创建：.* 喝水$/) }]);
      if (failures === 1) expect(reply).toMatchObject({ text: '好的，明早八点提醒你喝水。', provider: 'OPENAI_COMPATIBLE', degraded: false });
      else {
        expect(reply).toMatchObject({ provider: 'OFFLINE', degraded: true });
        expect(reply.text).toContain('已为你设置提醒“喝水”');
      }
    });
  }

  it('identical questions in flight from two users: a reply that set a reminder is not shared, each user gets their own', async () => {
    llm.set({ latencyMs: 150, respond: (request) => (request.messages.at(-1)!.role === 'user' ? reminder : { content: '好的。' }) });
    const before = reminders.created.length;
    const shared = agent.subgraph.replies.shared;
    const [a, b] = [{ id: randomUUID() }, { id: randomUUID() }];
    const text = `明早八点提醒我喝水 ${randomUUID()}`;
    await Promise.all([ask(agent, a, { agentId: 'soer', text }), ask(agent, b, { agentId: 'soer', text })]);
    // They did meet in flight (so the check below is the guard's, not luck's).
    expect(agent.subgraph.replies.shared - shared).toBe(1);
    expect(reminders.created.slice(before).map((c) => c.userId).sort()).toEqual([a.id, b.id].sort());
  });
});

describe('AGENT_PROVIDER_PHI=off', () => {
  it('reads nothing personal, sends nothing personal to the model and offers it no personal tools; a granted user is still known only by key', async () => {
    const off = await startAgent({ personal, reminders, appointments, env: modelEnv(llm, gateway, { AGENT_PROVIDER_PHI: 'off' }) });
    try {
      const user = granted();
      const before = llm.requests.length;
      const loadsBefore = personal.loads.length;
      llm.set({});
      await ask(off, user, { agentId: 'xiaoai', text: `我的健康数据怎么样 ${randomUUID()}` });
      // Nothing personal can reach the model, so nothing is read (no delegated token minted for it).
      expect(personal.loads.length).toBe(loadsBefore);
      const [request] = since(before);
      expect(request!.messages[0]!.content).not.toContain('健康摘要');
      expect(toolNames(request!)).not.toContain('get_health_summary');
      expect(toolNames(request!)).not.toContain('get_latest_report');
      expect(JSON.stringify(request)).not.toContain(user.id);
    } finally {
      await off.close();
    }
  });
});

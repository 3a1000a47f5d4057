import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@suoke/platform';
import { openAiCompatibleProvider } from '../src/providers/openai.js';
import type { ChatRequest, ToolCall } from '../src/providers/types.js';
import type { AgentRow } from '../src/db/schema.js';
import { toolRunner } from '../src/service/tools/handlers.js';
import { offlineCalls, offlineFollowUp, parseReminder } from '../src/service/tools/offline-rules.js';
import { toolSpecs, toolsFor, TOOL_NAMES } from '../src/service/tools/registry.js';
import { ToolSession, MAX_CALLS_PER_ROUND } from '../src/service/tools/runner.js';
import { renderToolResults } from '../src/service/tools/render.js';
import { toolCallRecord } from '../src/service/tools/record.js';
import { script, startFakeOpenAi, type FakeOpenAi } from './fakes.js';
import { fakeAppointments, fakePersonal, fakeReminders } from './tool-deps.js';

// The tools on their own: the registry's schemas, the runner's checks (arguments, consent, ids the model could not
// have seen, limits, dependency refusals), the offline rules, and the OpenAI-compatible provider's side of the
// tool-calling protocol, blocking and streamed.

const log = createLogger({ service: 'agent-test', level: 'silent' });
const USER = '6f1c2b1e-0000-4000-8000-000000000001';
const NO_KNOWLEDGE = { search: async () => ({ reachable: true, hits: [] }) };

function setup(granted = true) {
  const personal = fakePersonal();
  if (granted) personal.grant(USER, ['HEALTH_SUMMARY', 'REPORTS']);
  const reminders = fakeReminders();
  const appointments = fakeAppointments();
  const deps = { knowledge: NO_KNOWLEDGE, personal: { ...personal, mode: 'summary' as const }, reminders, appointments };
  const runner = toolRunner(deps, log);
  return { personal, reminders, appointments, deps, runner };
}

let ids = 0;
const call = (name: string, args: unknown): ToolCall => ({ id: `c${(ids += 1)}`, name, arguments: typeof args === 'string' ? args : JSON.stringify(args) });

async function sessionFor(s: ReturnType<typeof setup>, agentId = 'xiaoai', messageKey = 'message-1') {
  const personal = await s.personal.source.load(USER, ['HEALTH_SUMMARY', 'REPORTS']);
  return new ToolSession({ userId: USER, agentId, messageKey, timeZone: 'Asia/Shanghai', personal }, 'model');
}

describe('the registry', () => {
  it('offers six tools with JSON schemas generated from their zod schemas; hand-off to 小艾 only; personal tools not when PHI is off', () => {
    const { deps } = setup();
    expect(toolsFor('xiaoai', deps)).toEqual([...TOOL_NAMES]);
    expect(toolsFor('soer', deps)).not.toContain('hand_off');
    expect(toolsFor('xiaoai', { ...deps, personal: { ...deps.personal, mode: 'off' } })).not.toContain('get_health_summary');
    expect(toolsFor('xiaoai', { knowledge: NO_KNOWLEDGE })).toEqual(['search_knowledge', 'hand_off']);
    const [reminder] = toolSpecs(['create_reminder']);
    expect(reminder!.parameters).toMatchObject({ type: 'object', required: ['text', 'startsAt'], additionalProperties: false });
    expect(JSON.stringify(toolSpecs(['hand_off'])[0]!.parameters)).toContain('"enum":["xiaoke","laoke","soer"]');
  });
});

describe('the runner', () => {
  it('turns malformed JSON, invalid arguments, unknown and unoffered tools into error results, and runs nothing for them', async () => {
    const s = setup();
    const session = await sessionFor(s, 'soer');
    const offered = toolsFor('soer', s.deps);
    const outcomes = await s.runner.run(
      [
        call('create_reminder', '{"text": "喝水", "startsAt": '),
        call('create_reminder', { text: '喝水', startsAt: 'tomorrow at 8' }),
        call('create_reminder', { text: '喝水', startsAt: '2026-12-08T08:00', userId: 'someone-else' }),
        call('delete_account', {}),
        call('hand_off', { agentId: 'laoke', question: '黄芪' }),
      ],
      offered,
      session,
      AbortSignal.timeout(5_000),
    );
    expect(outcomes.map((o) => [o.ok, (o.result.error as { code: string }).code])).toEqual([
      [false, 'MALFORMED_ARGUMENTS'],
      [false, 'INVALID_ARGUMENTS'],
      // A user id is not an argument: the strict schema refuses it.
      [false, 'INVALID_ARGUMENTS'],
      [false, 'UNKNOWN_TOOL'],
      [false, 'UNKNOWN_TOOL'],
    ]);
    expect(s.reminders.created).toEqual([]);
    expect(session.sideEffects).toBe(false);
  });

  it('acts for the caller only, with an idempotency key from the message and the arguments', async () => {
    const s = setup();
    const args = { text: '喝水', startsAt: '2026-12-08T08:00', recurrence: 'DAILY' };
    const first = await s.runner.run([call('create_reminder', args)], toolsFor('soer', s.deps), await sessionFor(s, 'soer', 'm-1'), AbortSignal.timeout(5_000));
    expect(first[0]).toMatchObject({ ok: true, result: { reminder: { text: '喝水', recurrence: 'DAILY', timeZone: 'Asia/Shanghai' } } });
    // The same round retried (same message): the same key, so no second reminder; another message: a new one.
    await s.runner.run([call('create_reminder', args)], toolsFor('soer', s.deps), await sessionFor(s, 'soer', 'm-1'), AbortSignal.timeout(5_000));
    await s.runner.run([call('create_reminder', args)], toolsFor('soer', s.deps), await sessionFor(s, 'soer', 'm-2'), AbortSignal.timeout(5_000));
    expect(s.reminders.created.map((c) => c.userId)).toEqual([USER, USER]);
    expect(new Set(s.reminders.created.map((c) => c.input.clientKey)).size).toBe(2);
  });

  it('books only a slot it listed in this reply; a taken slot is CONFLICT for the model; one booking per reply', async () => {
    const s = setup();
    const offered = toolsFor('xiaoke', s.deps);
    const session = await sessionFor(s, 'xiaoke');
    const invented = await s.runner.run([call('book_appointment', { slotId: s.appointments.slots[0]!.id })], offered, session, AbortSignal.timeout(5_000));
    expect(invented[0]!.result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_ID' } });
    expect(s.appointments.bookings).toEqual([]);
    const [listing] = await s.runner.run([call('book_appointment', {})], offered, session, AbortSignal.timeout(5_000));
    const slotIds = (listing!.result.slots as Array<{ slotId: string }>).map((slot) => slot.slotId);
    expect(slotIds).toHaveLength(3);
    s.appointments.booked.set(slotIds[0]!, { userId: 'other', clientKey: 'other-key' });
    const [taken, second, third] = await s.runner.run(
      [call('book_appointment', { slotId: slotIds[0] }), call('book_appointment', { slotId: slotIds[1] }), call('book_appointment', { slotId: slotIds[2] })],
      offered,
      session,
      AbortSignal.timeout(5_000),
    );
    expect(taken!.result).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(second).toMatchObject({ ok: true, result: { appointment: { practitionerName: '张医生' } } });
    expect(third!.result).toMatchObject({ ok: false, error: { code: 'LIMIT_REACHED' } });
    expect(s.appointments.bookings.map((b) => b.userId)).toEqual([USER, USER]);
  });

  it('reads personal data only with the scope granted, and as the summary a model may read', async () => {
    const s = setup(false);
    s.personal.grant(USER, ['HEALTH_SUMMARY']);
    const session = await sessionFor(s);
    const [summary, report] = await s.runner.run([call('get_health_summary', {}), call('get_latest_report', {})], toolsFor('xiaoai', s.deps), session, AbortSignal.timeout(5_000));
    expect(summary).toMatchObject({ ok: true, result: { summary: '用户授权的健康摘要：近7天心率平均71.5次/分' } });
    expect(JSON.stringify(summary!.result)).not.toContain(USER);
    expect(report!.result).toMatchObject({ ok: false, error: { code: 'CONSENT_REQUIRED' } });
    expect([...session.usedScopes]).toEqual(['HEALTH_SUMMARY']);
  });

  it('bounds a round and each tool per reply', async () => {
    const s = setup();
    const session = await sessionFor(s);
    const many = Array.from({ length: MAX_CALLS_PER_ROUND + 2 }, (_, i) => call('search_knowledge', { query: `黄芪${i}` }));
    const outcomes = await s.runner.run(many, toolsFor('xiaoai', s.deps), session, AbortSignal.timeout(5_000));
    const codes = outcomes.map((o) => (o.ok ? 'ok' : (o.result.error as { code: string }).code));
    expect(codes).toEqual(['ok', 'ok', 'ok', 'LIMIT_REACHED', 'LIMIT_REACHED', 'LIMIT_REACHED', 'TOO_MANY_CALLS', 'TOO_MANY_CALLS']);
  });
});

describe('Message.toolCalls records', () => {
  it('are kept per call by the session, in order, with the round, and only for names that are tools', async () => {
    const s = setup(false);
    const session = await sessionFor(s);
    session.rounds = 2;
    await s.runner.run([call('get_latest_report', {}), call('transfer_money', { amount: 1 }), call('search_knowledge', { query: '黄芪' })], toolsFor('xiaoai', s.deps), session, AbortSignal.timeout(5_000));
    expect(session.outcomes).toHaveLength(3);
    expect(session.toolCalls).toEqual([
      { name: 'GET_LATEST_REPORT', round: 2, outcome: 'REFUSED', code: 'CONSENT_REQUIRED', summary: '读取最新诊断报告：未获你的授权（可在“隐私与授权”里开启），未读取' },
      { name: 'SEARCH_KNOWLEDGE', round: 2, outcome: 'OK', code: null, summary: '查阅知识库“黄芪”：没有找到相关条目' },
    ]);
  });

  it('say what was done in the user\'s zone, and never an id', () => {
    const reminder = (recurrence: string) => ({ text: '喝水', nextFireAt: '2026-12-08T13:00:00Z', recurrence, timeZone: 'Asia/Shanghai' });
    const ok = (name: string, args: unknown, result: Record<string, unknown>) => toolCallRecord({ call: call(name, args), ok: true, result: { ok: true, ...result } }, 1, 'Asia/Shanghai')!;
    expect(ok('create_reminder', {}, { reminder: reminder('DAILY') }).summary).toBe('提醒已创建：每天 21:00 喝水');
    // 2026-12-08 is a Tuesday.
    expect(ok('create_reminder', {}, { reminder: reminder('WEEKLY') }).summary).toBe('提醒已创建：每周二 21:00 喝水');
    expect(ok('create_reminder', {}, { reminder: reminder('NONE') }).summary).toBe('提醒已创建：12/8 21:00 喝水');
    const booked = ok('book_appointment', { slotId: 'slot-secret-id' }, { appointment: { startsAt: '2026-12-11T01:00:00Z', practitionerName: '张医生', status: 'BOOKED' } });
    expect(booked.summary).toBe('已预约：张医生 12/11 09:00');
    expect(ok('hand_off', {}, { handedOffTo: 'laoke' }).summary).toBe('已转给老克');
    const failed = toolCallRecord({ call: call('book_appointment', { slotId: 'slot-secret-id' }), ok: false, result: { ok: false, error: { code: 'CONFLICT', message: 'slot slot-secret-id is already booked' } } }, 1, 'UTC')!;
    expect(failed).toEqual({ name: 'BOOK_APPOINTMENT', round: 1, outcome: 'FAILED', code: 'CONFLICT', summary: '预约：该时段已被约走' });
    expect(JSON.stringify([booked, failed])).not.toContain('secret');
  });
});

describe('the offline rules', () => {
  const now = new Date('2026-12-07T03:00:00Z'); // 11:00 in Shanghai
  it('parses reminders in Chinese and English, in the user\'s zone, today when still ahead, else tomorrow', () => {
    expect(parseReminder('明天早上8点提醒我喝水', 'Asia/Shanghai', now)).toEqual({ text: '喝水', startsAt: '2026-12-08T08:00', recurrence: 'NONE' });
    expect(parseReminder('每天晚上十点半提醒我睡觉', 'Asia/Shanghai', now)).toEqual({ text: '睡觉', startsAt: '2026-12-07T22:30', recurrence: 'DAILY' });
    expect(parseReminder('remind me to stretch at 9:30pm every day', 'Europe/Berlin', now)).toMatchObject({ startsAt: '2026-12-07T21:30', recurrence: 'DAILY' });
    expect(parseReminder('提醒我9点吃药', 'Asia/Shanghai', now)).toMatchObject({ text: '吃药', startsAt: '2026-12-08T09:00' });
    // Only what follows "remind me" is the reminder's text, whatever else the message asks.
    expect(parseReminder('我的体重和血压最近怎么样？另外请提醒我12:37量血压', 'Asia/Shanghai', now)).toMatchObject({ text: '量血压' });
    expect(parseReminder('How is my weight? Also remind me to stretch at 9:30pm every day', 'Europe/Berlin', now)).toMatchObject({ text: 'stretch' });
    expect(parseReminder('提醒我吃药', 'Asia/Shanghai', now)).toBeUndefined();
  });

  it('maps intents to calls: a hand-off from 小艾 by topic or by name, personal data, a booking of the earliest slot', () => {
    const all = [...TOOL_NAMES];
    expect(offlineCalls('帮我预约一个中医问诊', 'xiaoai', all, 'Asia/Shanghai').map((c) => [c.name, JSON.parse(c.arguments).agentId])).toEqual([['hand_off', 'xiaoke']]);
    expect(offlineCalls('请让老克讲讲黄芪', 'xiaoai', all, 'Asia/Shanghai').map((c) => JSON.parse(c.arguments).agentId)).toEqual(['laoke']);
    // Symptoms are 小艾's own; an urgent message calls nothing.
    expect(offlineCalls('最近总是觉得累，是不是气虚？', 'xiaoai', all, 'Asia/Shanghai')).toEqual([]);
    expect(offlineCalls('突然胸痛，帮我预约', 'xiaoke', all, 'Asia/Shanghai')).toEqual([]);
    expect(offlineCalls('我的健康数据怎么样，看看我的最新报告', 'xiaoai', all, 'Asia/Shanghai').map((c) => c.name)).toEqual(['get_health_summary', 'get_latest_report']);
    const listing = offlineCalls('帮我预约最早的时段', 'xiaoke', all, 'Asia/Shanghai');
    expect(listing.map((c) => c.name)).toEqual(['book_appointment']);
    const follow = offlineFollowUp('帮我预约最早的时段', [{ call: listing[0]!, ok: true, result: { ok: true, slots: [{ slotId: 's-1' }, { slotId: 's-2' }] } }]);
    expect(follow.map((c) => JSON.parse(c.arguments))).toEqual([{ slotId: 's-1' }]);
    expect(offlineFollowUp('帮我预约', [{ call: listing[0]!, ok: true, result: { ok: true, slots: [{ slotId: 's-1' }] } }])).toEqual([]);
  });

  it('renders what was done, and why not, in Chinese', () => {
    const lines = renderToolResults(
      [
        { call: call('create_reminder', {}), ok: true, result: { ok: true, reminder: { text: '喝水', nextFireAt: '2026-12-08T00:00:00Z', recurrence: 'DAILY', timeZone: 'Asia/Shanghai' } } },
        { call: call('get_health_summary', {}), ok: false, result: { ok: false, error: { code: 'CONSENT_REQUIRED', message: '' } } },
      ],
      'Asia/Shanghai',
    );
    expect(lines[0]).toBe('已为你设置提醒“喝水”（每天），下次提醒：12/8 08:00。');
    expect(lines[1]).toContain('隐私与授权');
  });
});

describe('the OpenAI-compatible provider speaks the tool-calling protocol', () => {
  let llm: FakeOpenAi;
  beforeAll(async () => (llm = await startFakeOpenAi({ streamPaceMs: 1, streamPieceChars: 3 })));
  afterAll(() => llm?.close());
  const agent = { id: 'xiaoai', name: '小艾', nameEn: 'XiaoAI', description: '健康助手。' } as AgentRow;
  const request = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
    agent,
    question: '我最近心率怎么样',
    history: [],
    knowledge: { reachable: true, hits: [] },
    tools: toolSpecs(['get_health_summary', 'search_knowledge']),
    personal: '用户授权的健康摘要：近7天心率平均71.5次/分',
    ...extra,
  });
  const provider = () => openAiCompatibleProvider({ baseUrl: llm.baseUrl, model: 'fake-model' });

  for (const streamed of [false, true]) {
    it(`${streamed ? 'streamed' : 'blocking'}: sends tools, tool_choice, the transcript as assistant tool_calls and tool messages, and reads calls back`, async () => {
      llm.set({ streamPaceMs: 1, streamPieceChars: 3, respond: script({ toolCalls: [{ name: 'get_health_summary', arguments: '{}', id: 'call_a' }, { name: 'search_knowledge', arguments: { query: '心率' } }] }) });
      const pieces: string[] = [];
      const turn = streamed ? await provider().streamTurn!(request(), AbortSignal.timeout(5_000), (p) => pieces.push(p)) : await provider().turn!(request(), AbortSignal.timeout(5_000));
      expect(turn).toEqual({
        text: '',
        toolCalls: [
          { id: 'call_a', name: 'get_health_summary', arguments: '{}' },
          { id: expect.stringMatching(/^call_/), name: 'search_knowledge', arguments: '{"query":"心率"}' },
        ],
      });
      expect(pieces).toEqual([]);
      const sent = llm.requests.at(-1)!;
      expect(sent.tools!.map((t) => [t.type, t.function.name])).toEqual([
        ['function', 'get_health_summary'],
        ['function', 'search_knowledge'],
      ]);
      expect(sent.tool_choice).toBe('auto');
      expect(sent.messages[0]!.content).toContain('近7天心率平均71.5次/分');

      llm.set({ streamPaceMs: 1, streamPieceChars: 3, respond: script({ content: '你的心率平稳。' }) });
      const transcript = [{ text: '', calls: turn.toolCalls, outcomes: turn.toolCalls.map((c) => ({ call: c, ok: true, result: { ok: true, summary: 's' } })) }];
      const answer = streamed
        ? await provider().streamTurn!(request({ transcript, toolChoice: 'none' }), AbortSignal.timeout(5_000), (p) => pieces.push(p))
        : await provider().turn!(request({ transcript, toolChoice: 'none' }), AbortSignal.timeout(5_000));
      expect(answer).toEqual({ text: '你的心率平稳。', toolCalls: [] });
      if (streamed) expect(pieces.join('')).toBe('你的心率平稳。');
      const replayed = llm.requests.at(-1)!;
      expect(replayed.tool_choice).toBe('none');
      expect(replayed.messages.slice(-3)).toEqual([
        { role: 'assistant', content: null, tool_calls: turn.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) },
        { role: 'tool', tool_call_id: 'call_a', content: '{"ok":true,"summary":"s"}' },
        { role: 'tool', tool_call_id: turn.toolCalls[1]!.id, content: '{"ok":true,"summary":"s"}' },
      ]);
    });
  }

  it('sends no tools (and no tool_choice) when none are offered, as before tools existed', async () => {
    llm.set({});
    await provider().reply(request({ tools: undefined }), AbortSignal.timeout(5_000));
    expect(llm.requests.at(-1)!.tools).toBeUndefined();
    expect(llm.requests.at(-1)!.tool_choice).toBeUndefined();
  });
});

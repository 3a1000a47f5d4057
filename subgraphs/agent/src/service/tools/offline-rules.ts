import type { ToolCall, ToolOutcome } from '../../providers/types.js';
import { analyse } from '../intents.js';
import type { ToolName } from './registry.js';

/**
 * The offline responder's use of the tools: rules map what a message asks for (remind me…, book…, my health data…,
 * a question for another agent) to tool calls, run by the same runner as a model's calls, with the same checks.
 * A second round follows only for "book the earliest": the slot booked is one the first round listed.
 */

const REMIND = /提醒我|提醒一下|叫我|remind me/i;
const BOOK = /预约|挂号|约个?医生|book(?:\s+an?)?\s+(?:appointment|slot|visit)|see a (?:doctor|practitioner)/i;
const EARLIEST = /最早|尽快|最近的时段|马上|earliest|soonest|first available|as soon as/i;
const HEALTH_DATA = /我的(?:健康)?数据|我的(?:血压|心率|睡眠|步数|体重|血糖|血氧|体温)|最近(?:一周|七天|几天)?的?(?:指标|数据|血压|心率)|my (?:health )?data|my (?:blood pressure|heart rate|sleep|steps|weight|blood sugar)/i;
const REPORT = /我的(?:最新的?|最近的?)?(?:诊断|体质)?报告|体质报告|诊断结果|my (?:latest )?(?:diagnosis )?report/i;
const CARE_PLAN = /调理计划|调理方案|养生计划|养生方案|care plan/i;
const AGENT_NAMES: Array<[RegExp, string]> = [
  [/小克|xiaoke/i, 'xiaoke'],
  [/老克|laoke/i, 'laoke'],
  [/索儿|soer/i, 'soer'],
];
const EXPLICIT_HAND_OFF = /转给|交给|转到|让|请|问问|找|hand (?:me |this |it )?(?:over|off) to|talk to|ask/i;

let sequence = 0;
const call = (name: ToolName, args: Record<string, unknown>): ToolCall => ({ id: `offline_${(sequence += 1)}`, name, arguments: JSON.stringify(args) });

/** The first round of calls for `question` to `agentId`, among the tools `offered`; empty when none applies. */
export function offlineCalls(question: string, agentId: string, offered: readonly ToolName[], timeZone: string, now = new Date()): ToolCall[] {
  const calls: ToolCall[] = [];
  const can = (name: ToolName) => offered.includes(name);
  const { intents } = analyse(question);
  if (intents.has('URGENT')) return calls;
  const target = agentId === 'xiaoai' && can('hand_off') ? handOffTarget(question, intents) : undefined;
  if (target) {
    calls.push(call('hand_off', { agentId: target, question }));
    return calls;
  }
  if (can('get_health_summary') && HEALTH_DATA.test(question)) calls.push(call('get_health_summary', {}));
  if (can('get_latest_report') && REPORT.test(question)) calls.push(call('get_latest_report', {}));
  if (can('create_reminder') && REMIND.test(question)) {
    const reminder = parseReminder(question, timeZone, now);
    if (reminder) calls.push(call('create_reminder', reminder));
  }
  if (can('book_appointment') && BOOK.test(question)) calls.push(call('book_appointment', {}));
  return calls;
}

/** The next round after `outcomes`: booking the earliest slot listed, when the message asked for it. */
export function offlineFollowUp(question: string, outcomes: readonly ToolOutcome[]): ToolCall[] {
  if (!EARLIEST.test(question)) return [];
  const listing = outcomes.find((o) => o.ok && o.call.name === 'book_appointment' && Array.isArray(o.result.slots));
  const first = (listing?.result.slots as Array<{ slotId: string }> | undefined)?.[0];
  return first && !outcomes.some((o) => o.call.name === 'book_appointment' && JSON.parse(o.call.arguments).slotId) ? [call('book_appointment', { slotId: first.slotId })] : [];
}

function handOffTarget(question: string, intents: ReadonlySet<string>): string | undefined {
  for (const [pattern, agentId] of AGENT_NAMES) if (pattern.test(question) && EXPLICIT_HAND_OFF.test(question)) return agentId;
  // By topic, only for questions that are not about the user's own signs (小艾's part: symptoms, the consultation).
  if (intents.has('SYMPTOM') || intents.has('CONSULTATION')) return undefined;
  // "怎么养" is 小艾's to answer; a plan or a product is 小克's.
  if (intents.has('APPOINTMENT') || intents.has('PRODUCT') || CARE_PLAN.test(question)) return 'xiaoke';
  if (intents.has('HERB')) return 'laoke';
  if (intents.has('SLEEP') || intents.has('MOOD') || intents.has('EXERCISE')) return 'soer';
  return undefined;
}

const CN_DIGITS: Record<string, number> = { 零: 0, 一: 1, 二: 2, 两: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9, 十: 10 };

/** 八 → 8, 十一 → 11, 二十 → 20; digits as they are. */
function number(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  if (text.startsWith('十')) return 10 + (CN_DIGITS[text[1] ?? '零'] ?? 0);
  if (text.includes('十')) return (CN_DIGITS[text[0]!] ?? 0) * 10 + (CN_DIGITS[text[2] ?? '零'] ?? 0);
  return CN_DIGITS[text] ?? NaN;
}

/** The parts of `now` in `timeZone`. */
function localParts(now: Date, timeZone: string) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(now)
      .map((p) => [p.type, p.value]),
  );
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

/**
 * A reminder from a message such as "明天早上8点提醒我喝水", "每天晚上十点半提醒我睡觉" or "remind me to stretch at
 * 9:30pm every day": the text, the first local time (today when it is still ahead, else tomorrow) and the recurrence.
 * Undefined when the message names no time.
 */
export function parseReminder(question: string, timeZone: string, now = new Date()): { text: string; startsAt: string; recurrence: 'NONE' | 'DAILY' | 'WEEKLY' } | undefined {
  const text = question.normalize('NFKC');
  let hour: number | undefined;
  let minute = 0;
  let match = /(\d{1,2})[:：](\d{2})\s*(am|pm)?/i.exec(text);
  if (match) {
    hour = Number(match[1]);
    minute = Number(match[2]);
    if (match[3]?.toLowerCase() === 'pm' && hour < 12) hour += 12;
    if (match[3]?.toLowerCase() === 'am' && hour === 12) hour = 0;
  } else if ((match = /([\d零一二两三四五六七八九十]{1,3})\s*点(半|([\d零一二三四五六七八九十]{1,3})分?)?/.exec(text))) {
    hour = number(match[1]!);
    minute = match[2] === '半' ? 30 : match[3] ? number(match[3]) : 0;
  } else if ((match = /\bat\s+(\d{1,2})\s*(am|pm)\b/i.exec(text))) {
    hour = Number(match[1]) % 12 + (match[2]!.toLowerCase() === 'pm' ? 12 : 0);
  }
  if (hour === undefined || !Number.isFinite(hour) || !Number.isFinite(minute) || minute > 59) return undefined;
  if (/下午|晚上|傍晚|今晚|夜里/.test(text) && hour < 12) hour += 12;
  if (/中午/.test(text) && hour < 6) hour += 12;
  if (hour > 23) return undefined;
  const recurrence = /每天|每日|每晚|每早|every ?day|daily|every (?:morning|evening|night)/i.test(text) ? 'DAILY' : /每周|每星期|每个星期|weekly|every week/i.test(text) ? 'WEEKLY' : 'NONE';
  const local = localParts(now, timeZone);
  let offset = /后天|day after tomorrow/i.test(text) ? 2 : /明天|明早|明晚|tomorrow/i.test(text) ? 1 : 0;
  if (offset === 0 && hour * 60 + minute <= local.minutes) offset = 1;
  const day = new Date(Date.UTC(local.year, local.month - 1, local.day + offset));
  const pad = (n: number) => String(n).padStart(2, '0');
  const startsAt = `${day.getUTCFullYear()}-${pad(day.getUTCMonth() + 1)}-${pad(day.getUTCDate())}T${pad(hour)}:${pad(minute)}`;
  // What to be reminded of is what follows "remind me" (the rest of the message may ask something else).
  const asked = /(?:提醒我|提醒一下|叫我|remind me)(.*)$/isu.exec(text)?.[1];
  const what =
    (asked?.trim() ? asked : text)
      .replace(/remind me( to)?/i, '')
      .replace(/提醒我|提醒一下|叫我/g, '')
      .replace(/^\s*to\b/i, '')
      .replace(/(?:\bat\s+)?(\d{1,2})[:：](\d{2})\s*(am|pm)?|\bat\s+\d{1,2}\s*(am|pm)?\b|[\d零一二两三四五六七八九十]{1,3}\s*点(半|[\d零一二三四五六七八九十]{1,3}分?)?/gi, '')
      .replace(/每天|每日|每晚|每早|每周|每星期|每个星期|every ?day|daily|weekly|every week|tomorrow|明天|后天|今天|今晚|早上|上午|中午|下午|晚上|傍晚|夜里|明早|明晚|请|帮我|\bat\b|\bon\b/gi, '')
      .replace(/^[\s\p{P}]+|[\s\p{P}]+$/gu, '')
      .trim() || question.trim();
  return { text: [...what].slice(0, 200).join(''), startsAt, recurrence };
}

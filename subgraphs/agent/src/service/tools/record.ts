import type { AgentTool, StoredToolCall, ToolCallOutcome } from '../../db/schema.js';
import type { ToolOutcome } from '../../providers/types.js';
import { isToolName, type ToolName } from './registry.js';
import { localTime } from './render.js';

/**
 * A tool call as the app shows it under a reply (`Message.toolCalls`): the tool, the round, whether it was done, and
 * one short line in Chinese. Built from what the call's owner may read only: the line states what was done for the
 * user (a reminder's time and text, a booked practitioner and time), never the arguments or results themselves, which
 * hold ids (slots, practitioners) and, for personal tools, the data read. Written once, when the call ran, in the
 * caller's time zone.
 */

const AGENT_NAMES: Record<string, string> = { xiaoai: '小艾', xiaoke: '小克', laoke: '老克', soer: '索儿' };
const WEEKDAYS = ['日', '一', '二', '三', '四', '五', '六'];

/** Codes of calls the agent subgraph did not run (the call was invalid or not allowed); the rest ran and failed. */
const REFUSALS = new Set(['UNKNOWN_TOOL', 'MALFORMED_ARGUMENTS', 'INVALID_ARGUMENTS', 'LIMIT_REACHED', 'TOO_MANY_CALLS', 'CONSENT_REQUIRED', 'NOT_AVAILABLE', 'UNKNOWN_ID', 'NOT_ALLOWED']);

/** The tool's name as `AgentTool`. */
export const agentTool = (name: ToolName): AgentTool => name.toUpperCase() as AgentTool;

/**
 * The stored record of one call, or undefined for a call naming no tool at all (nothing of it could run, and
 * `AgentTool` has no member for it; the model still reads its error result).
 */
export function toolCallRecord(outcome: ToolOutcome, round: number, timeZone: string): StoredToolCall | undefined {
  const name = outcome.call.name;
  if (!isToolName(name)) return undefined;
  const args = argumentsOf(outcome.call.arguments);
  if (outcome.ok) return { name: agentTool(name), round, outcome: 'OK', code: null, summary: done(name, args, outcome.result, timeZone) };
  const code = String((outcome.result.error as { code?: unknown } | undefined)?.code ?? 'TOOL_FAILED');
  const result: ToolCallOutcome = REFUSALS.has(code) ? 'REFUSED' : 'FAILED';
  return { name: agentTool(name), round, outcome: result, code, summary: `${label(name, args)}：${why(name, code)}` };
}

/** The model's arguments when they are a JSON object; {} otherwise (a malformed call). */
function argumentsOf(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function label(name: ToolName, args: Record<string, unknown>): string {
  switch (name) {
    case 'search_knowledge':
      return '查阅知识库';
    case 'get_health_summary':
      return '读取健康数据摘要';
    case 'get_latest_report':
      return '读取最新诊断报告';
    case 'create_reminder':
      return '设置提醒';
    case 'book_appointment':
      return args.slotId === undefined ? '查看可预约时段' : '预约';
    case 'hand_off':
      return '转交问题';
  }
}

/** At most `max` characters (code points), with an ellipsis when cut. */
const clip = (text: string, max: number) => ([...text].length > max ? `${[...text].slice(0, max - 1).join('')}…` : text);

function done(name: ToolName, args: Record<string, unknown>, result: Record<string, unknown>, timeZone: string): string {
  switch (name) {
    case 'search_knowledge': {
      const hits = Array.isArray(result.hits) ? result.hits.length : 0;
      const query = clip(String(args.query ?? '').trim(), 30);
      return hits > 0 ? `查阅知识库“${query}”：找到${hits}条` : `查阅知识库“${query}”：没有找到相关条目`;
    }
    case 'get_health_summary':
      return '已读取你授权的健康数据摘要';
    case 'get_latest_report':
      return '已读取你最近的诊断报告';
    case 'create_reminder': {
      const reminder = result.reminder as { text: string; nextFireAt: string; recurrence: string; timeZone: string };
      return `提醒已创建：${when(reminder.nextFireAt, reminder.recurrence, reminder.timeZone || timeZone)} ${clip(reminder.text, 40)}`;
    }
    case 'book_appointment': {
      if (result.appointment) {
        const booked = result.appointment as { startsAt: string; practitionerName: string };
        return `已预约：${booked.practitionerName} ${localTime(booked.startsAt, timeZone)}`;
      }
      const slots = Array.isArray(result.slots) ? result.slots.length : 0;
      return slots > 0 ? `查看了可预约时段：${slots}个` : '查看了可预约时段：暂无';
    }
    case 'hand_off':
      return `已转给${AGENT_NAMES[String(result.handedOffTo)] ?? String(result.handedOffTo)}`;
  }
}

/** "每天 21:00", "每周二 21:00", or the one time as localTime writes it: "12/8 08:00". */
function when(iso: string, recurrence: string, timeZone: string): string {
  if (recurrence === 'NONE') return localTime(iso, timeZone);
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
        .formatToParts(date)
        .map((p) => [p.type, p.value]),
    );
    const time = `${parts.hour}:${parts.minute}`;
    const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(String(parts.weekday));
    return recurrence === 'WEEKLY' ? `每周${WEEKDAYS[day] ?? ''} ${time}` : `每天 ${time}`;
  } catch {
    return iso;
  }
}

/** Why a call was not done, in a few words (the code is the record's own field). */
function why(name: ToolName, code: string): string {
  switch (code) {
    case 'UNKNOWN_TOOL':
      return '这个智能体不能使用此工具，未执行';
    case 'MALFORMED_ARGUMENTS':
    case 'INVALID_ARGUMENTS':
      return '调用参数无效，未执行';
    case 'LIMIT_REACHED':
      return '超出本次回答的次数限制，未执行';
    case 'TOO_MANY_CALLS':
      return '本轮调用过多，未执行';
    case 'CONSENT_REQUIRED':
      return '未获你的授权（可在“隐私与授权”里开启），未读取';
    case 'NOT_AVAILABLE':
      return '个人数据不发送给模型服务，未读取';
    case 'UNKNOWN_ID':
      return '所选时段不是本次回答列出的，未预约';
    case 'NOT_ALLOWED':
      return '只有小艾可以转交问题，未执行';
    case 'NO_DATA':
      return name === 'get_latest_report' ? '你还没有诊断报告' : '最近没有健康数据';
    case 'CONFLICT':
      return '该时段已被约走';
    case 'UNAVAILABLE':
      return '服务暂时不可用';
    default:
      return '没有办成';
  }
}

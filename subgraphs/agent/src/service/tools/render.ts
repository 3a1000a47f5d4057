import type { ChatRequest, ToolOutcome } from '../../providers/types.js';
import type { PersonalContext } from './deps.js';
import { DEFAULT_TIME_ZONE } from './zone.js';

const AGENT_NAMES: Record<string, string> = { xiaoai: '小艾', xiaoke: '小克', laoke: '老克', soer: '索儿' };
const RECURRENCE: Record<string, string> = { NONE: '一次', DAILY: '每天', WEEKLY: '每周' };

/** An instant as the user reads it, in their time zone: "12/8 09:30" (zh-CN, numeric month and day). */
export function localTime(iso: string, timeZone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  try {
    return new Intl.DateTimeFormat('zh-CN', { timeZone, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(date);
  } catch {
    return iso;
  }
}

type Week = NonNullable<PersonalContext['healthSummary']>;
type Report = NonNullable<PersonalContext['latestReport']>;

const OBSERVATION: Record<string, string> = {
  HEART_RATE: '心率', BLOOD_PRESSURE: '血压', SLEEP: '睡眠', STEPS: '步数', WEIGHT: '体重', BLOOD_GLUCOSE: '血糖', BODY_TEMPERATURE: '体温',
};
const CONSTITUTION: Record<string, string> = {
  BALANCED: '平和质', QI_DEFICIENT: '气虚质', YANG_DEFICIENT: '阳虚质', YIN_DEFICIENT: '阴虚质', PHLEGM_DAMP: '痰湿质',
  DAMP_HEAT: '湿热质', BLOOD_STASIS: '血瘀质', QI_STAGNATION: '气郁质', INHERITED_SPECIAL: '特禀质',
};
const figure = (n: number | null) => (n === null ? '—' : String(Math.round(n * 10) / 10));

/** The user's week as they read it: per type, readings, average, range and latest, with the unit. */
function weekLine(week: Week): string {
  const parts = week.items.map((item) => {
    const unit = item.unit ? ` ${item.unit}` : '';
    return `${OBSERVATION[item.type] ?? item.type} ${item.count} 次，平均 ${figure(item.average)}${unit}（${figure(item.min)}–${figure(item.max)}），最近一次 ${figure(item.latest)}${unit}`;
  });
  return `根据你授权读取的近 ${week.days} 天健康数据：${parts.join('；')}。`;
}

/** The user's latest report as they read it: constitutions and syndromes by name where known. */
function reportLine(report: Report): string {
  const name = (code: string) => CONSTITUTION[code] ?? code;
  const secondary = report.secondaryConstitutions.length > 0 ? `，兼有${report.secondaryConstitutions.map(name).join('、')}倾向` : '';
  return `根据你最近的诊断报告（${report.createdAt.slice(0, 10)}）：主要体质为${name(report.primaryConstitution)}${secondary}；可信度 ${Math.round(report.confidence * 100)}%。`;
}

/** Why a tool could not help, as the user reads it. */
function refusal(name: string, error: { code?: string; message?: string }): string {
  switch (error.code) {
    case 'CONSENT_REQUIRED':
      return name === 'get_latest_report'
        ? '我还不能读取你的诊断报告：需要你先在App的“隐私与授权”里允许智能体读取报告（REPORTS）。'
        : '我还不能读取你的健康数据：需要你先在App的“隐私与授权”里允许智能体读取健康数据摘要（HEALTH_SUMMARY）。';
    case 'NO_DATA':
      return name === 'get_latest_report' ? '你还没有诊断报告，可以先在App里做一次四诊评估。' : '最近没有记录到你的健康数据。';
    case 'CONFLICT':
      return '这个时段刚刚被别人约走了，请换一个时段。';
    default:
      return name === 'create_reminder' ? '提醒没有设置成功，请稍后再试。' : name === 'book_appointment' ? '预约没有成功，请稍后再试。' : '这一步暂时没有办成，请稍后再试。';
  }
}

/**
 * The lines the offline responder adds for the tools run in this reply: what was found or done, or why not, in
 * Chinese. Knowledge found by search_knowledge is cited by the reply and listed by the responder itself.
 */
export function renderToolResults(outcomes: readonly ToolOutcome[], timeZone: string): string[] {
  const lines: string[] = [];
  for (const { call, ok, result } of outcomes) {
    if (!ok) {
      if (call.name !== 'search_knowledge') lines.push(refusal(call.name, (result.error ?? {}) as { code?: string; message?: string }));
      continue;
    }
    switch (call.name) {
      case 'get_health_summary':
        lines.push(result.week ? weekLine(result.week as Week) : `根据你授权读取的健康数据：${String(result.summary)}`);
        break;
      case 'get_latest_report':
        lines.push(result.report ? reportLine(result.report as Report) : `根据你最近的诊断报告：${String(result.summary)}`);
        break;
      case 'create_reminder': {
        const reminder = result.reminder as { text: string; nextFireAt: string; recurrence: string; timeZone: string };
        lines.push(`已为你设置提醒“${reminder.text}”（${RECURRENCE[reminder.recurrence] ?? reminder.recurrence}），下次提醒：${localTime(reminder.nextFireAt, reminder.timeZone)}。`);
        break;
      }
      case 'book_appointment': {
        if (result.appointment) {
          const booked = result.appointment as { startsAt: string; practitionerName: string };
          lines.push(`已为你预约：${booked.practitionerName}，${localTime(booked.startsAt, timeZone)}。可以在“我的预约”里查看或取消。`);
        } else {
          const slots = (result.slots ?? []) as Array<{ practitionerName: string; startsAt: string; endsAt: string }>;
          if (slots.length === 0) lines.push('最近没有可预约的时段。');
          else {
            lines.push('可以预约的时段：');
            slots.forEach((slot, i) => lines.push(`${i + 1}. ${slot.practitionerName} ${localTime(slot.startsAt, timeZone)}`));
          }
        }
        break;
      }
      case 'hand_off': {
        const name = AGENT_NAMES[String(result.handedOffTo)] ?? String(result.handedOffTo);
        lines.push(`这个问题由${name}来回答更合适，我已经把它转给了${name}：在新的对话里可以看到${name}的回答。`);
        break;
      }
    }
  }
  return lines;
}

/** The offline responder's lines for the tools of `request` (none when no tool ran). */
export function toolLines(request: ChatRequest): string[] {
  return request.toolResults ? renderToolResults(request.toolResults, request.timeZone ?? DEFAULT_TIME_ZONE) : [];
}

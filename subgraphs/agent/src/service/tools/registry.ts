import { z } from '@suoke/platform';
import type { ToolSpec } from '../../providers/types.js';
import type { AgentAccessScope, ToolDeps } from './deps.js';

/**
 * The tools an agent may call, each with the zod schema its arguments must pass (the JSON Schema the model is shown
 * is generated from it, so the two cannot drift apart). Ids the model could not have seen are not arguments: the
 * user is the caller, a report is the latest one; a slot id must be one the tools listed in this reply (runner.ts).
 */
export const TOOL_NAMES = ['search_knowledge', 'get_health_summary', 'get_latest_report', 'create_reminder', 'book_appointment', 'hand_off'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

/** The agents 小艾 hands a question to, by topic. */
export const HAND_OFF_TARGETS = ['xiaoke', 'laoke', 'soer'] as const;

const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/;

export const TOOL_ARGUMENTS = {
  search_knowledge: z.strictObject({
    query: z.string().trim().min(1).max(50).describe('What to look up: a constitution, herb, acupoint, syndrome or topic, in Chinese, pinyin or English.'),
  }),
  get_health_summary: z.strictObject({}),
  get_latest_report: z.strictObject({}),
  create_reminder: z.strictObject({
    text: z.string().trim().min(1).max(200).describe('What to remind the user of, in their words.'),
    startsAt: z.string().regex(LOCAL_DATE_TIME).describe("The first time, in the user's local time: 'YYYY-MM-DDTHH:mm'."),
    recurrence: z.enum(['NONE', 'DAILY', 'WEEKLY']).optional().describe('NONE (default) for once, DAILY or WEEKLY.'),
  }),
  book_appointment: z.strictObject({
    slotId: z.string().min(1).max(100).optional().describe('The id of a slot this tool listed in this reply. Omit it to list open slots first.'),
    practitionerId: z.string().min(1).max(100).optional().describe('Only slots of this practitioner (an id from a listing in this reply).'),
    from: z.string().regex(/^\d{4}-\d{2}-\d{2}/).optional().describe('Only slots from this date (YYYY-MM-DD) on.'),
  }),
  hand_off: z.strictObject({
    agentId: z.enum(HAND_OFF_TARGETS).describe('xiaoke 小克: appointments, products, care plans; laoke 老克: TCM knowledge; soer 索儿: sleep, mood, habits.'),
    question: z.string().trim().min(1).max(500).describe('The question for the receiving agent, with what it needs to know from this conversation.'),
  }),
} satisfies Record<ToolName, z.ZodType>;

export type ToolArguments = { [N in ToolName]: z.infer<(typeof TOOL_ARGUMENTS)[N]> };

const DESCRIPTIONS: Record<ToolName, string> = {
  search_knowledge: 'Search the Suoke Life TCM knowledge base (constitutions, herbs, acupoints, syndromes, articles). Cite what it returns; never invent sources.',
  get_health_summary: "A summary of the user's recent health observations, when they granted access (HEALTH_SUMMARY). Otherwise an error saying how to grant it.",
  get_latest_report: "The constitution and syndromes of the user's latest diagnosis report, when they granted access (REPORTS).",
  create_reminder: 'Create a reminder for the user (once, daily or weekly) in their time zone. Only when the user asked to be reminded.',
  book_appointment: 'Without slotId: list open appointment slots. With a slotId from that list: book it for the user. Only book when the user asked to.',
  hand_off: 'Pass the question to another agent, who answers in a new conversation in its own voice. Only for questions outside your role.',
};

/** The scope each personal tool needs. */
export const TOOL_SCOPES: Partial<Record<ToolName, AgentAccessScope>> = { get_health_summary: 'HEALTH_SUMMARY', get_latest_report: 'REPORTS' };

/**
 * The tools offered to `agentId` with these dependencies: hand-off only to 小艾; a tool whose dependency is missing is
 * not offered; personal tools not when AGENT_PROVIDER_PHI=off (their results would carry personal data to the model).
 */
export function toolsFor(agentId: string, deps: ToolDeps): ToolName[] {
  return TOOL_NAMES.filter((name) => {
    switch (name) {
      case 'search_knowledge':
        return true;
      case 'get_health_summary':
      case 'get_latest_report':
        return deps.personal !== undefined && deps.personal.mode !== 'off';
      case 'create_reminder':
        return deps.reminders !== undefined;
      case 'book_appointment':
        return deps.appointments !== undefined;
      case 'hand_off':
        return agentId === 'xiaoai';
    }
  });
}

const specs = new Map<ToolName, ToolSpec>(
  TOOL_NAMES.map((name) => {
    const { $schema: _schema, ...parameters } = z.toJSONSchema(TOOL_ARGUMENTS[name], { io: 'input' }) as Record<string, unknown>;
    return [name, { name, description: DESCRIPTIONS[name], parameters }];
  }),
);

export function toolSpecs(names: readonly ToolName[]): ToolSpec[] {
  return names.map((name) => specs.get(name)!);
}

export function isToolName(name: string): name is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(name);
}

import type { Logger } from '@suoke/platform';
import { personaOf } from '../personas.js';
import type { PersonalContext, ToolDeps } from './deps.js';
import type { ToolArguments, ToolName } from './registry.js';
import { ToolError, ToolRunner, type ToolSession } from './runner.js';

/** Slots listed per call. */
const SLOTS_LISTED = 5;

/**
 * The personal context narrowed to one scope, summarised for whoever reads it: a model gets what AGENT_PROVIDER_PHI
 * allows (the same summary the system prompt would carry), the offline responder, which sends nothing anywhere, the
 * summary in full.
 */
function personalSummary(session: ToolSession, deps: ToolDeps, only: 'HEALTH_SUMMARY' | 'REPORTS'): string {
  const ctx = session.caller.personal!;
  const narrowed: PersonalContext = {
    userId: ctx.userId,
    grantVersion: ctx.grantVersion,
    scopes: [only],
    ...(only === 'HEALTH_SUMMARY' && ctx.healthSummary ? { healthSummary: ctx.healthSummary } : {}),
    ...(only === 'REPORTS' && ctx.latestReport ? { latestReport: ctx.latestReport } : {}),
  };
  const personal = deps.personal;
  const mode = session.audience === 'offline' ? 'summary' : (personal?.mode ?? 'off');
  const text = personal?.summarise(narrowed, mode) ?? null;
  if (text === null) throw new ToolError('NOT_AVAILABLE', 'personal data is not shared with the model provider here (AGENT_PROVIDER_PHI=off)');
  return text;
}

export const HANDLERS: { [N in ToolName]: (args: ToolArguments[N], session: ToolSession, deps: ToolDeps, signal: AbortSignal) => Promise<Record<string, unknown>> } = {
  async search_knowledge(args, session, deps) {
    const found = await deps.knowledge.search([args.query], personaOf(session.caller.agentId).prefers);
    if (!found.reachable) throw new ToolError('UNAVAILABLE', 'the knowledge base cannot be reached right now; answer without citing it');
    for (const hit of found.hits) {
      if (!session.citations.some((c) => c.kind === hit.kind && c.key === hit.key)) session.citations.push({ kind: hit.kind, key: hit.key });
    }
    return { hits: found.hits.map((hit) => ({ kind: hit.kind, title: hit.title, summary: hit.summary })) };
  },

  async get_health_summary(_args, session, deps) {
    if (!session.caller.personal?.healthSummary) throw new ToolError('NO_DATA', 'there are no recent health observations to summarise');
    const summary = personalSummary(session, deps, 'HEALTH_SUMMARY');
    session.usedScopes.add('HEALTH_SUMMARY');
    // The offline responder writes to the user, in Chinese, from the figures; a model gets the summary only.
    return session.audience === 'offline' ? { summary, week: session.caller.personal!.healthSummary } : { summary };
  },

  async get_latest_report(_args, session, deps) {
    if (!session.caller.personal?.latestReport) throw new ToolError('NO_DATA', 'the user has no diagnosis report yet; a four-method consultation in the app makes one');
    const summary = personalSummary(session, deps, 'REPORTS');
    session.usedScopes.add('REPORTS');
    return session.audience === 'offline' ? { summary, report: session.caller.personal!.latestReport } : { summary };
  },

  async create_reminder(args, session, deps) {
    if (!deps.reminders) throw new ToolError('UNAVAILABLE', 'reminders are not available here');
    const input = { text: args.text, startsAt: args.startsAt, timeZone: session.caller.timeZone, recurrence: args.recurrence ?? ('NONE' as const) };
    session.sideEffects = true;
    const reminder = await deps.reminders.create(session.caller.userId, { ...input, clientKey: session.clientKey('create_reminder', input) });
    return { reminder: { text: reminder.text, nextFireAt: reminder.nextFireAt, recurrence: reminder.recurrence, timeZone: reminder.timeZone } };
  },

  async book_appointment(args, session, deps) {
    if (!deps.appointments) throw new ToolError('UNAVAILABLE', 'appointments are not available here');
    if (args.slotId === undefined) {
      const known = [...session.seenSlots.values()].map((slot) => slot.practitionerId);
      if (args.practitionerId !== undefined && !known.includes(args.practitionerId)) {
        throw new ToolError('UNKNOWN_ID', 'practitionerId must be one listed by book_appointment in this reply; list slots without it first');
      }
      const slots = await deps.appointments.openSlots({
        first: SLOTS_LISTED,
        ...(args.practitionerId ? { practitionerId: args.practitionerId } : {}),
        ...(args.from ? { from: args.from } : {}),
      });
      for (const slot of slots) session.seenSlots.set(slot.id, slot);
      return { slots: slots.map((slot) => ({ slotId: slot.id, practitionerId: slot.practitionerId, practitionerName: slot.practitionerName, startsAt: slot.startsAt, endsAt: slot.endsAt })) };
    }
    // The model's word is not enough: only a slot the tool listed in this reply can be booked.
    if (!session.seenSlots.has(args.slotId)) {
      throw new ToolError('UNKNOWN_ID', 'slotId must be one listed by book_appointment in this reply; call it without slotId to list open slots');
    }
    if (!session.book()) throw new ToolError('LIMIT_REACHED', 'one booking per reply');
    session.sideEffects = true;
    let booked: Awaited<ReturnType<typeof deps.appointments.book>>;
    try {
      booked = await deps.appointments.book(session.caller.userId, { slotId: args.slotId, clientKey: session.clientKey('book_appointment', args.slotId) });
    } catch (error) {
      session.unbook();
      throw error;
    }
    return { appointment: { startsAt: booked.startsAt, practitionerName: booked.practitionerName, status: booked.status } };
  },

  async hand_off(args, session) {
    if (session.caller.agentId !== 'xiaoai') throw new ToolError('NOT_ALLOWED', 'only 小艾 hands questions to other agents');
    if (session.handOff) throw new ToolError('LIMIT_REACHED', 'one hand-off per reply');
    session.handOff = { agentId: args.agentId, question: args.question };
    session.sideEffects = true;
    return { handedOffTo: args.agentId, note: 'the receiving agent answers in a new conversation the user can open from this reply; tell the user so in one sentence' };
  },
};

export function toolRunner(deps: ToolDeps, log: Logger): ToolRunner {
  return new ToolRunner(deps, HANDLERS, log);
}

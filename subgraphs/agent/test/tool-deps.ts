import { GraphQLError } from 'graphql';
import type { CitationRef } from '../src/db/schema.js';
import type { AgentAccessScope, Appointments, OpenSlot, PersonalContext, PersonalData, Reminders } from '../src/service/tools/deps.js';

/**
 * Fakes of what the tools call (consented personal context, reminders, appointments), recording every call, so that
 * tests assert who a tool acted for and with which key, not only what the reply says.
 */

/** Users' grants: `grant` sets the scopes and bumps the version, as the user subgraph does on every change. */
export function fakePersonal() {
  const grants = new Map<string, { scopes: AgentAccessScope[]; version: number }>();
  const loads: Array<{ userId: string; want: readonly AgentAccessScope[] }> = [];
  const context = (userId: string): PersonalContext | null => {
    const grant = grants.get(userId.toLowerCase());
    if (!grant || grant.scopes.length === 0) return null;
    return {
      userId,
      grantVersion: String(grant.version),
      scopes: [...grant.scopes],
      ...(grant.scopes.includes('HEALTH_SUMMARY')
        ? { healthSummary: { days: 7, from: '2026-11-30', to: '2026-12-07', items: [{ type: 'HEART_RATE', count: 42, average: 71.5, min: 58, max: 96, latest: 70, unit: 'bpm' }] } }
        : {}),
      ...(grant.scopes.includes('REPORTS')
        ? { latestReport: { id: `report-of-${userId}`, createdAt: '2026-12-01T08:00:00Z', primaryConstitution: 'QI_DEFICIENT', secondaryConstitutions: [], suggestedSyndromes: ['SPLEEN_QI_DEFICIENCY'], confidence: 0.8 } }
        : {}),
    };
  };
  const data: Omit<PersonalData, 'mode'> & { grants: typeof grants; loads: typeof loads; grant(userId: string, scopes: AgentAccessScope[]): void } = {
    grants,
    loads,
    grant(userId, scopes) {
      const before = grants.get(userId.toLowerCase());
      grants.set(userId.toLowerCase(), { scopes, version: (before?.version ?? 0) + 1 });
    },
    source: {
      async load(userId, want) {
        loads.push({ userId, want });
        return context(userId);
      },
    },
    // Never ids: what a model may read.
    summarise(ctx, mode) {
      if (!ctx || mode === 'off') return null;
      const parts: string[] = [];
      if (ctx.scopes.includes('HEALTH_SUMMARY') && ctx.healthSummary) parts.push(`近${ctx.healthSummary.days}天心率平均${ctx.healthSummary.items[0]!.average}次/分`);
      if (ctx.scopes.includes('REPORTS') && ctx.latestReport) parts.push(`最近报告：主要体质${ctx.latestReport.primaryConstitution}`);
      return parts.length ? `用户授权的健康摘要：${parts.join('；')}` : null;
    },
    cite(ctx, used): CitationRef[] {
      const refs: Array<{ kind: string; key: string }> = [];
      if (used.includes('HEALTH_SUMMARY') && ctx.healthSummary) refs.push({ kind: 'HEALTH_SUMMARY', key: `${ctx.userId}:7` });
      if (used.includes('REPORTS') && ctx.latestReport) refs.push({ kind: 'DIAGNOSIS_REPORT', key: ctx.latestReport.id });
      return refs as unknown as CitationRef[];
    },
  };
  return data;
}

export function fakeReminders() {
  const created: Array<{ userId: string; input: Parameters<Reminders['create']>[1] }> = [];
  const byKey = new Map<string, { id: string; text: string; nextFireAt: string; recurrence: string; timeZone: string }>();
  const reminders: Reminders & { created: typeof created } = {
    created,
    async create(userId, input) {
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(input.startsAt)) throw new GraphQLError('startsAt must be local YYYY-MM-DDTHH:mm', { extensions: { code: 'BAD_USER_INPUT' } });
      const key = `${userId}:${input.clientKey}`;
      const known = byKey.get(key);
      if (known) return known;
      created.push({ userId, input });
      // Good enough for a fake: the zone's offset is not applied.
      const reminder = { id: `reminder-${created.length}`, text: input.text, nextFireAt: `${input.startsAt}:00Z`, recurrence: input.recurrence ?? 'NONE', timeZone: input.timeZone };
      byKey.set(key, reminder);
      return reminder;
    },
  };
  return reminders;
}

export function fakeAppointments() {
  const slots: OpenSlot[] = [1, 2, 3].map((n) => ({
    id: `0000000${n}-slot-id`,
    practitionerId: 'p-zhang',
    practitionerName: '张医生',
    startsAt: `2026-12-1${n}T01:00:00Z`,
    endsAt: `2026-12-1${n}T01:30:00Z`,
  }));
  const booked = new Map<string, { userId: string; clientKey: string }>();
  const listings: unknown[] = [];
  const bookings: Array<{ userId: string; slotId: string; clientKey: string }> = [];
  const appointments: Appointments & { slots: OpenSlot[]; booked: typeof booked; listings: unknown[]; bookings: typeof bookings } = {
    slots,
    booked,
    listings,
    bookings,
    async openSlots(options) {
      listings.push(options);
      return slots.filter((slot) => !booked.has(slot.id)).slice(0, options.first ?? 20);
    },
    async book(userId, input) {
      bookings.push({ userId, ...input });
      const slot = slots.find((s) => s.id === input.slotId);
      if (!slot) throw new GraphQLError('no such slot', { extensions: { code: 'NOT_FOUND' } });
      const holder = booked.get(slot.id);
      if (holder && holder.clientKey !== input.clientKey) throw new GraphQLError(`slot ${slot.id} is already booked`, { extensions: { code: 'CONFLICT' } });
      booked.set(slot.id, { userId, clientKey: input.clientKey });
      return { id: `appt-${slot.id}`, slotId: slot.id, startsAt: slot.startsAt, practitionerName: slot.practitionerName, status: 'BOOKED' };
    },
  };
  return appointments;
}

import { forbidden, isUuid, unauthenticated } from '@suoke/platform';
import type { Context } from '../context.js';
import type { Resolvers } from '../generated/resolvers.js';
import { localTime } from '../service/reminder-time.js';
import type { ReminderService } from '../service/reminders.js';
import type { SeasonService } from '../service/seasons-follow.js';
import { currentSolarTerm, nextSolarTerm, type SolarTerm } from '../service/seasons.js';

export interface ReminderResolverDeps {
  reminders: ReminderService;
  seasons: SeasonService;
}

/** The caller, who must be a user (a UUID subject): services own no reminders. */
function ownerId(ctx: Context): string {
  if (!ctx.user) throw unauthenticated();
  if (!isUuid(ctx.user.id)) throw forbidden('This account cannot hold reminders');
  return ctx.user.id;
}

const solarTerm = (term: SolarTerm) => term;

/** 索儿's reminders and seasons: thin resolvers over service/reminders.ts and service/seasons-follow.ts. */
export function reminderResolvers(deps: ReminderResolverDeps): Pick<Resolvers, 'Query' | 'Mutation' | 'Reminder' | 'SolarTerm' | 'SeasonalAdvice'> {
  return {
    Query: {
      reminders: async (_parent, args, ctx) => {
        const page = await deps.reminders.list(ownerId(ctx), args);
        ctx.audit.record({ action: 'READ', resource: 'Reminder', ids: page.edges.map((edge) => edge.node.id) });
        return page;
      },
      currentSolarTerm: () => solarTerm(currentSolarTerm(new Date())),
      nextSolarTerm: () => solarTerm(nextSolarTerm(new Date())),
      // Both are the caller's own seasonal messages: null for a caller who does not follow the seasons.
      seasonalAdvice: async (_parent, _args, ctx) => {
        const caller = ownerId(ctx);
        if (!(await deps.seasons.status(caller)).following) return null;
        const term = currentSolarTerm(new Date());
        const advice = await deps.seasons.adviceFor(caller, term);
        ctx.audit.record({ action: 'READ', resource: 'SeasonalAdvice', ids: [caller] });
        return { ...advice, term };
      },
      seasonFollowing: async (_parent, _args, ctx) => {
        const status = await deps.seasons.status(ownerId(ctx));
        return status.following ? { ...status, nextTerm: nextSolarTerm(new Date()) } : null;
      },
    },
    Mutation: {
      createReminder: async (_parent, { input }, ctx) => {
        const row = await deps.reminders.createRow(ownerId(ctx), {
          text: input.text,
          startsAt: input.startsAt,
          timeZone: input.timeZone,
          ...(input.recurrence ? { recurrence: input.recurrence } : {}),
          ...(input.clientKey ? { clientKey: input.clientKey } : {}),
        });
        ctx.audit.record({ action: 'WRITE', resource: 'Reminder', ids: [row.id] });
        return row;
      },
      cancelReminder: async (_parent, { input }, ctx) => {
        const row = await deps.reminders.cancel(ownerId(ctx), input.id);
        ctx.audit.record({ action: 'WRITE', resource: 'Reminder', ids: [row.id] });
        return row;
      },
      followSeasons: async (_parent, { input }, ctx) => ({ ...(await deps.seasons.follow(ownerId(ctx), input.follow)), nextTerm: nextSolarTerm(new Date()) }),
    },
    Reminder: {
      startsAt: (row) => row.localStart,
      nextFireAtLocal: (row) => (row.nextFireAt ? localTime(row.nextFireAt, row.timeZone) : null),
    },
    SolarTerm: {
      startsAt: (term) => term.at,
    },
    SeasonalAdvice: {
      constitution: (advice) => (advice.constitution ? { __typename: 'Constitution' as const, code: advice.constitution } : null),
    },
  };
}

import { auditEventsPage, DateTime, forbidden, unauthenticated, isUuid } from '@suoke/platform';
import type { Context } from '../context.js';
import type { Resolvers } from '../generated/resolvers.js';
import { recordObservations, type RecordingBounds } from '../service/ingest.js';
import { unitOf } from '../service/observation-types.js';
import { saveProfile } from '../service/profile.js';
import { healthProfileResolvers, observationResolvers } from './entities.js';
import { userResolvers } from './user.js';

/** Thin resolvers: validation and storage live in service/ and db/, reads go through loaders. */
export function createResolvers(deps: { bounds: RecordingBounds }): Resolvers {
  return {
    DateTime,
    Query: {
      healthAuditEvents: (_parent, args, ctx) => auditEventsPage(ctx, 'health', args),
    },
    Mutation: {
      // Always for the caller: there is no way to record for someone else.
      recordObservations: async (_parent, { input }, ctx) => {
        const { inserted, duplicates } = await recordObservations(ctx.database, callerId(ctx), input, deps.bounds);
        ctx.audit.record({ action: 'WRITE', resource: 'Observation', ids: inserted.map((row) => row.id) });
        return { inserted: inserted.length, duplicates, observations: inserted };
      },
      updateHealthProfile: async (_parent, { input }, ctx) => {
        const profile = await saveProfile(ctx.database, callerId(ctx), input);
        ctx.audit.record({ action: 'WRITE', resource: 'HealthProfile', ids: [profile.userId] });
        return profile;
      },
    },
    User: userResolvers,
    Observation: observationResolvers,
    HealthProfile: healthProfileResolvers,
    ObservationStat: { unit: (stat) => unitOf(stat.type) },
  };
}

function callerId(ctx: Context): string {
  if (!ctx.user) throw unauthenticated();
  // Health rows are keyed by the user service's UUIDs; any other subject owns no health data.
  if (!isUuid(ctx.user.id)) throw forbidden('This account cannot hold health data');
  return ctx.user.id.toLowerCase();
}

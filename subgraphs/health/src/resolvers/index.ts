import { ANY_GRANT, auditEventsPage, DateTime, delegatedReads, forbidden, unauthenticated, isUuid, type DelegatedReads } from '@suoke/platform';
import type { Context } from '../context.js';
import type { Resolvers } from '../generated/resolvers.js';
import { recordObservations, type RecordingBounds } from '../service/ingest.js';
import { unitOf } from '../service/observation-types.js';
import { saveProfile } from '../service/profile.js';
import { healthProfileResolvers, healthSummaryResolvers, observationResolvers } from './entities.js';
import { userResolvers } from './user.js';

/**
 * What an agent's delegated token (issue 20) may read here, per consent scope: the summary and the profile, never
 * observations one by one, never a write. The profile's `conditions` are the user's own words: left out.
 */
export const HEALTH_DELEGATED_READS: DelegatedReads = {
  'User.id': ANY_GRANT,
  'User.healthSummary': ['HEALTH_SUMMARY'],
  ObservationStat: ['HEALTH_SUMMARY'],
  HealthSummary: ['HEALTH_SUMMARY'],
  'User.healthProfile': ['HEALTH_PROFILE'],
  'HealthProfile.id': ['HEALTH_PROFILE'],
  'HealthProfile.sex': ['HEALTH_PROFILE'],
  'HealthProfile.birthDate': ['HEALTH_PROFILE'],
  'HealthProfile.heightCm': ['HEALTH_PROFILE'],
  'HealthProfile.bloodType': ['HEALTH_PROFILE'],
  'HealthProfile.updatedAt': ['HEALTH_PROFILE'],
};

/** Thin resolvers: validation and storage live in service/ and db/, reads go through loaders. */
export function createResolvers(deps: { bounds: RecordingBounds }): Resolvers {
  return delegatedReads(resolverMap(deps), HEALTH_DELEGATED_READS);
}

function resolverMap(deps: { bounds: RecordingBounds }): Resolvers {
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
    HealthSummary: healthSummaryResolvers,
    ObservationStat: { unit: (stat) => unitOf(stat.type) },
  };
}

function callerId(ctx: Context): string {
  if (!ctx.user) throw unauthenticated();
  // Health rows are keyed by the user service's UUIDs; any other subject owns no health data.
  if (!isUuid(ctx.user.id)) throw forbidden('This account cannot hold health data');
  return ctx.user.id.toLowerCase();
}

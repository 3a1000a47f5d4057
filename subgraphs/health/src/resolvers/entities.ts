import { assertOwnerOr, forbidden, isUuid, parseHealthSummaryId, unauthenticated } from '@suoke/platform';
import type { HealthProfileResolvers, HealthSummaryResolvers, ObservationResolvers } from '../generated/resolvers.js';
import { isObservationType, unitOf } from '../service/observation-types.js';
import { READ_ANY, SUMMARY_DAYS } from './user.js';

/**
 * Entities owned here, resolvable by other subgraphs. Every other path to them
 * is an @authenticated field; here the owner check (which also refuses anonymous
 * callers) runs per representation and asynchronously, so a refusal nulls that
 * item only, never the whole `_entities` list.
 */
export const observationResolvers: ObservationResolvers = {
  __resolveReference: async (reference, ctx) => {
    // The owner is known only after the lookup; anonymous callers need none.
    if (!ctx.user) throw unauthenticated();
    const row = await ctx.loaders.observationById.load(reference.id);
    if (!row) return null;
    assertOwnerOr(ctx, row.userId, READ_ANY);
    ctx.audit.record({ action: 'READ', resource: 'Observation', ids: [row.id] });
    return row;
  },
  unit: (observation) => unitOf(observation.type),
};

export const healthProfileResolvers: HealthProfileResolvers = {
  // The profile's id is its user's id, so the check needs no lookup.
  __resolveReference: async (reference, ctx) => {
    assertOwnerOr(ctx, reference.id, READ_ANY);
    const profile = await ctx.loaders.profileByUserId.load(reference.id);
    if (profile) ctx.audit.record({ action: 'READ', resource: 'HealthProfile', ids: [profile.userId] });
    return profile;
  },
};

/**
 * A cited `HealthSummary`: its id names the user, the type and the window, so
 * the owner check needs no lookup. Only the owner reads it (not even
 * `health:read:any`: it exists to show a user what an agent used). A malformed
 * id is null without SQL; the statistics of a batch are one statement.
 */
export const healthSummaryResolvers: HealthSummaryResolvers = {
  __resolveReference: async (reference, ctx) => {
    if (!ctx.user) throw unauthenticated();
    const key = parseHealthSummaryId(reference.id);
    // A window longer than `healthSummary`'s longest is no id this API hands out: nothing to read.
    if (!key || !isUuid(key.userId) || !isObservationType(key.type) || key.to.getTime() - key.from.getTime() > SUMMARY_DAYS.max * 86_400_000) return null;
    const userId = key.userId.toLowerCase();
    if (ctx.user.id.toLowerCase() !== userId) throw forbidden();
    const [stat] = await ctx.loaders.windowSummary.load({ userId, type: key.type, from: key.from, to: key.to });
    ctx.audit.record({ action: 'READ', resource: 'HealthSummary', ids: [reference.id] });
    return { id: reference.id, userId, type: key.type, from: key.from, to: key.to, stat: stat ?? null };
  },
};

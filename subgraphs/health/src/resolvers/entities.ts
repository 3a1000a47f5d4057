import { assertOwnerOr, unauthenticated } from '@suoke/platform';
import type { HealthProfileResolvers, ObservationResolvers } from '../generated/resolvers.js';
import { unitOf } from '../service/observation-types.js';
import { READ_ANY } from './user.js';

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

import { assertOwnerOr, badInput, decodeCursor, decodeTimeIdCursor, forbidden, isUuid, pageSize, toConnection, unauthenticated } from '@suoke/platform';
import type { Context } from '../context.js';
import { knowledgeRef, type AppointmentRow, type CarePlanRow, type SlotRow } from '../db/schema.js';
import type { AppointmentResolvers, CarePlanResolvers, CareRecommendationResolvers, MutationResolvers, PractitionerResolvers, QueryResolvers, SlotResolvers, UserAppointmentsArgs, UserCarePlanArgs, UserCarePlansArgs, UserResolvers } from '../generated/resolvers.js';
import type { AppointmentService } from '../service/appointments.js';
import type { CarePlanService } from '../service/care-plans.js';
import { READ_ANY } from './user.js';

export interface CareResolverDeps {
  carePlans: CarePlanService;
  appointments: AppointmentService;
}

/** The caller as the owner of what a mutation writes: only the user service's accounts (UUIDs) hold plans and bookings. */
function ownerId(ctx: Context): string {
  if (!ctx.user) throw unauthenticated();
  if (!isUuid(ctx.user.id)) throw forbidden('This account cannot hold care plans or appointments');
  return ctx.user.id;
}

/** `after` of `User.carePlans`: a cursor holding a version number. */
function afterVersion(after: string | null | undefined): number | null {
  const parts = decodeCursor(after, 1);
  if (!parts) return null;
  const [version] = parts;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) throw badInput('after is not a cursor returned by this connection', 'after');
  return version;
}

const slotOf = (appointment: AppointmentRow): SlotRow => ({
  id: appointment.slotId,
  practitionerId: appointment.practitionerId,
  startsAt: appointment.startsAt,
  endsAt: appointment.endsAt,
});

async function practitionerOf(slot: SlotRow, ctx: Context) {
  const row = await ctx.loaders.practitionerById.load(slot.practitionerId);
  // The foreign key rules this out; were it broken, the client gets INTERNAL_SERVER_ERROR, never a made-up practitioner.
  if (!row) throw new Error(`slot ${slot.id} names practitioner ${slot.practitionerId}, who does not exist`);
  return row;
}

/** XiaoKe's fields: thin, reads through loaders, rules in service/care-plans.ts and service/appointments.ts. */
export function createCareResolvers(deps: CareResolverDeps) {

  const Mutation: MutationResolvers = {
    proposeCarePlan: async (_parent, _args, ctx) => {
      const { plan, created } = await deps.carePlans.propose(ownerId(ctx));
      ctx.audit.record({ action: created ? 'WRITE' : 'READ', resource: 'CarePlan', ids: [plan.id] });
      return plan;
    },
    acceptCarePlan: async (_parent, { input }, ctx) => {
      const plan = await deps.carePlans.accept(ownerId(ctx), input.version);
      ctx.audit.record({ action: 'WRITE', resource: 'CarePlan', ids: [plan.id] });
      return plan;
    },
    bookAppointment: async (_parent, { input }, ctx) => {
      const appointment = await deps.appointments.bookAppointment(ownerId(ctx), input);
      ctx.audit.record({ action: 'WRITE', resource: 'Appointment', ids: [appointment.id] });
      return appointment;
    },
    cancelAppointment: async (_parent, { input }, ctx) => {
      const appointment = await deps.appointments.cancel(ownerId(ctx), input);
      ctx.audit.record({ action: 'WRITE', resource: 'Appointment', ids: [appointment.id] });
      return appointment;
    },
  };

  // `@authenticated` (enforced by the platform) refuses anonymous callers; these check ownership or `health:read:any`.
  const owned = {
    carePlan: async (user: { id: string }, { version }: UserCarePlanArgs, ctx: Context) => {
      assertOwnerOr(ctx, user.id, READ_ANY);
      if (version !== null && version !== undefined && (!Number.isSafeInteger(version) || version < 1)) {
        throw badInput(`version must be a positive integer; received ${version}`, 'version');
      }
      const [plan] = await ctx.loaders.carePlan.load({ userId: user.id.toLowerCase(), version: version ?? null });
      if (plan) ctx.audit.record({ action: 'READ', resource: 'CarePlan', ids: [plan.id] });
      return plan ?? null;
    },
    carePlans: async (user: { id: string }, args: UserCarePlansArgs, ctx: Context) => {
      assertOwnerOr(ctx, user.id, READ_ANY);
      const first = pageSize(args.first);
      const rows = await ctx.loaders.carePlanPage.load({ userId: user.id.toLowerCase(), limit: first + 1, afterVersion: afterVersion(args.after) });
      const page = toConnection(rows, first, (row: CarePlanRow) => [row.version]);
      ctx.audit.record({ action: 'READ', resource: 'CarePlan', ids: page.edges.map((edge) => edge.node.id) });
      return page;
    },
    appointments: async (user: { id: string }, args: UserAppointmentsArgs, ctx: Context) => {
      assertOwnerOr(ctx, user.id, READ_ANY);
      const first = pageSize(args.first);
      const after = decodeTimeIdCursor(args.after) ?? null;
      const rows = await ctx.loaders.appointmentPage.load({ userId: user.id.toLowerCase(), limit: first + 1, after });
      const page = toConnection(rows, first, (row: AppointmentRow) => [row.createdAt.toISOString(), row.id]);
      ctx.audit.record({ action: 'READ', resource: 'Appointment', ids: page.edges.map((edge) => edge.node.id) });
      return page;
    },
  };
  const User: UserResolvers = owned;

  const CarePlan: CarePlanResolvers = {
    primaryConstitution: (plan) => ({ __typename: 'Constitution', code: plan.primaryConstitution }),
    syndromes: (plan) => plan.syndromes.map((code) => ({ __typename: 'Syndrome' as const, code })),
    recommendations: (plan, { category }) => (category ? plan.recommendations.filter((r) => r.category === category) : plan.recommendations),
  };

  const CareRecommendation: CareRecommendationResolvers = {
    source: (recommendation) => knowledgeRef(recommendation.source),
  };

  const Practitioner: PractitionerResolvers = {
    __resolveReference: (reference, ctx) => ctx.loaders.practitionerById.load(reference.id),
    slots: async (practitioner, args, ctx) => {
      const first = pageSize(args.first);
      const after = decodeTimeIdCursor(args.after) ?? null;
      const now = new Date();
      const requested = args.from ? new Date(args.from) : undefined;
      const from = requested && requested > now ? requested : now;
      const rows = await ctx.loaders.slotPage.load({ practitionerId: practitioner.id, from, limit: first + 1, after });
      return toConnection(rows, first, (row: SlotRow) => [row.startsAt.toISOString(), row.id]);
    },
  };

  const Slot: SlotResolvers = {
    practitioner: (slot, _args, ctx) => practitionerOf(slot, ctx),
  };

  const Appointment: AppointmentResolvers = {
    slot: (appointment) => slotOf(appointment),
    practitioner: (appointment, _args, ctx) => practitionerOf(slotOf(appointment), ctx),
  };

  // The caller's own, at the root: the User fields above with the caller as the user.
  const me = (ctx: Context) => ({ id: ownerId(ctx) });
  const Query: QueryResolvers = {
    practitioners: (_parent, _args, ctx) => ctx.loaders.practitioners(),
    practitioner: (_parent, { id }, ctx) => ctx.loaders.practitionerById.load(id),
    carePlan: (_parent, args, ctx) => owned.carePlan(me(ctx), args, ctx),
    carePlans: (_parent, args, ctx) => owned.carePlans(me(ctx), args, ctx),
    appointments: (_parent, args, ctx) => owned.appointments(me(ctx), args, ctx),
  };

  return { Query, Mutation, User, CarePlan, CareRecommendation, Practitioner, Slot, Appointment };
}

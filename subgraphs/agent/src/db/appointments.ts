import { asc, inArray, sql } from 'drizzle-orm';
import { arrayParam, isoUtc, type Database } from '@suoke/platform';
import { practitioners, type AppointmentRow, type AppointmentStatus, type PractitionerRow, type SlotRow } from './schema.js';

/**
 * Storage of practitioners, slots and appointments. Reads take every key of a
 * loader batch and issue one statement. That a slot is booked at most once is
 * the partial unique index's rule (0009_care.sql): a booking is one INSERT …
 * ON CONFLICT DO NOTHING, so concurrent bookings need no lock and the losers
 * learn it from the empty result.
 */

export async function selectPractitioners(database: Database): Promise<PractitionerRow[]> {
  return database.db.select().from(practitioners).orderBy(asc(practitioners.position));
}

export async function selectPractitionersById(database: Database, ids: readonly string[]): Promise<PractitionerRow[]> {
  return database.db.select().from(practitioners).where(inArray(practitioners.id, [...ids]));
}

/** An open slot with its practitioner's name (what `AppointmentService.openSlots` hands out). */
export type OpenSlotRow = SlotRow & { practitionerName: string };

/** One request for open slots, earliest first; `limit` is first + 1. */
export interface SlotPageQuery {
  /** Null: every practitioner's. */
  practitionerId: string | null;
  from: Date;
  limit: number;
  after: { at: Date; id: string } | null;
}

interface RawSlot {
  ord: number;
  id: string;
  practitionerId: string;
  practitionerName: string;
  startsAt: string;
  endsAt: string;
}

/** Open slots (not BOOKED, starting at or after `from`) of several requests at once, tagged with the request's position. */
export async function selectOpenSlotPages(database: Database, queries: readonly SlotPageQuery[]): Promise<Array<{ ord: number; row: OpenSlotRow }>> {
  const rows = await database.rows<RawSlot & Record<string, unknown>>(sql`
    select k.ord::int as ord, s.id::text as id, s.practitioner_id::text as "practitionerId", s.name as "practitionerName",
           ${isoUtc(sql`s.starts_at`)} as "startsAt", ${isoUtc(sql`s.ends_at`)} as "endsAt"
    from unnest(
      ${arrayParam(queries.map((q) => q.practitionerId), 'uuid')},
      ${arrayParam(queries.map((q) => q.from), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.limit), 'int')},
      ${arrayParam(queries.map((q) => q.after?.at ?? null), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.after?.id ?? null), 'uuid')}
    ) with ordinality as k(practitioner_id, from_at, row_limit, after_at, after_id, ord)
    cross join lateral (
      select s.*, p.name
      from "agent".slots s
      join "agent".practitioners p on p.id = s.practitioner_id
      where (k.practitioner_id is null or s.practitioner_id = k.practitioner_id)
        and s.starts_at >= k.from_at
        and (k.after_at is null or (s.starts_at, s.id) > (k.after_at, k.after_id))
        and not exists (select 1 from "agent".appointments a where a.slot_id = s.id and a.status = 'BOOKED')
      order by s.starts_at, s.id
      limit k.row_limit
    ) s
    order by k.ord, s.starts_at, s.id`);
  return rows.map(({ ord, ...raw }) => ({ ord, row: { ...raw, startsAt: new Date(raw.startsAt), endsAt: new Date(raw.endsAt) } }));
}

const APPOINTMENT_COLUMNS = sql`a.id::text as id, a.user_id::text as "userId", a.slot_id::text as "slotId", a.client_key as "clientKey", a.status,
  ${isoUtc(sql`a.created_at`)} as "createdAt", ${isoUtc(sql`a.cancelled_at`)} as "cancelledAt", a.cancel_key as "cancelKey",
  s.practitioner_id::text as "practitionerId", p.name as "practitionerName",
  ${isoUtc(sql`s.starts_at`)} as "startsAt", ${isoUtc(sql`s.ends_at`)} as "endsAt"`;

interface RawAppointment {
  id: string;
  userId: string;
  slotId: string;
  clientKey: string;
  status: AppointmentStatus;
  createdAt: string;
  cancelledAt: string | null;
  cancelKey: string | null;
  practitionerId: string;
  practitionerName: string;
  startsAt: string;
  endsAt: string;
}

/** A booking as stored, with what the client and the tools need of its slot. */
export type StoredAppointment = AppointmentRow & { practitionerName: string; cancelKey: string | null };

function toAppointment(raw: RawAppointment): StoredAppointment {
  return {
    ...raw,
    createdAt: new Date(raw.createdAt),
    cancelledAt: raw.cancelledAt ? new Date(raw.cancelledAt) : null,
    startsAt: new Date(raw.startsAt),
    endsAt: new Date(raw.endsAt),
  };
}

/** One request of `User.appointments`, most recently booked first; `limit` is first + 1. */
export interface AppointmentPageQuery {
  userId: string;
  limit: number;
  after: { at: Date; id: string } | null;
}

export async function selectAppointmentPages(database: Database, queries: readonly AppointmentPageQuery[]): Promise<Array<{ ord: number; row: StoredAppointment }>> {
  const rows = await database.rows<RawAppointment & { ord: number } & Record<string, unknown>>(sql`
    select k.ord::int as ord, ${APPOINTMENT_COLUMNS}
    from unnest(
      ${arrayParam(queries.map((q) => q.userId), 'uuid')},
      ${arrayParam(queries.map((q) => q.limit), 'int')},
      ${arrayParam(queries.map((q) => q.after?.at ?? null), 'timestamptz')},
      ${arrayParam(queries.map((q) => q.after?.id ?? null), 'uuid')}
    ) with ordinality as k(user_id, row_limit, after_at, after_id, ord)
    cross join lateral (
      select * from "agent".appointments x
      where x.user_id = k.user_id and (k.after_at is null or (x.created_at, x.id) < (k.after_at, k.after_id))
      order by x.created_at desc, x.id desc
      limit k.row_limit
    ) a
    join "agent".slots s on s.id = a.slot_id
    join "agent".practitioners p on p.id = s.practitioner_id
    order by k.ord, a.created_at desc, a.id desc`);
  return rows.map(({ ord, ...raw }) => ({ ord, row: toAppointment(raw) }));
}

async function appointmentWhere(database: Database, condition: ReturnType<typeof sql>): Promise<StoredAppointment | undefined> {
  const [raw] = await database.rows<RawAppointment & Record<string, unknown>>(sql`
    select ${APPOINTMENT_COLUMNS}
    from "agent".appointments a
    join "agent".slots s on s.id = a.slot_id
    join "agent".practitioners p on p.id = s.practitioner_id
    where ${condition}`);
  return raw ? toAppointment(raw) : undefined;
}

export const appointmentById = (database: Database, id: string) => appointmentWhere(database, sql`a.id = ${id}`);

export const appointmentByClientKey = (database: Database, userId: string, clientKey: string) =>
  appointmentWhere(database, sql`a.user_id = ${userId} and a.client_key = ${clientKey}`);

export const appointmentByCancelKey = (database: Database, userId: string, cancelKey: string) =>
  appointmentWhere(database, sql`a.user_id = ${userId} and a.cancel_key = ${cancelKey}`);

/** A slot with its practitioner's name; undefined when there is no such slot. */
export async function selectSlot(database: Database, id: string): Promise<OpenSlotRow | undefined> {
  const [raw] = await database.rows<Omit<RawSlot, 'ord'> & Record<string, unknown>>(sql`
    select s.id::text as id, s.practitioner_id::text as "practitionerId", p.name as "practitionerName",
           ${isoUtc(sql`s.starts_at`)} as "startsAt", ${isoUtc(sql`s.ends_at`)} as "endsAt"
    from "agent".slots s join "agent".practitioners p on p.id = s.practitioner_id
    where s.id = ${id}`);
  return raw ? { ...raw, startsAt: new Date(raw.startsAt), endsAt: new Date(raw.endsAt) } : undefined;
}

/**
 * Books the slot for the user under `clientKey`. Undefined when any unique
 * rule refused it: the slot is booked (by anyone), or this user's key was
 * taken meanwhile by a concurrent request; the caller tells which.
 */
export async function insertAppointment(database: Database, userId: string, slotId: string, clientKey: string): Promise<string | undefined> {
  const [row] = await database.rows<{ id: string }>(sql`
    insert into "agent".appointments (user_id, slot_id, client_key)
    values (${userId}, ${slotId}, ${clientKey})
    on conflict do nothing
    returning id::text as id`);
  return row?.id;
}

/** Cancels a BOOKED appointment (freeing its slot); false when it was not BOOKED any more (a concurrent cancel). */
export async function markCancelled(database: Database, id: string, cancelKey: string | null): Promise<boolean> {
  const rows = await database.rows<{ id: string }>(sql`
    update "agent".appointments set status = 'CANCELLED', cancelled_at = now(), cancel_key = ${cancelKey}
    where id = ${id} and status = 'BOOKED'
    returning id::text as id`);
  return rows.length > 0;
}

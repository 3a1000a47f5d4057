import type { OpenSlot } from './tools/deps.js';
import { badInput, conflict, isUuid, notFound, type Database } from '@suoke/platform';
import {
  appointmentByCancelKey,
  appointmentByClientKey,
  appointmentById,
  insertAppointment,
  markCancelled,
  selectOpenSlotPages,
  selectSlot,
  type StoredAppointment,
} from '../db/appointments.js';


/** A booking as the `book_appointment` tool reports it. */
export interface BookedAppointment {
  id: string;
  slotId: string;
  startsAt: string;
  practitionerName: string;
  status: string;
}

const MAX_SLOTS = 100;

/** A client key as stored, or BAD_USER_INPUT naming the field. */
function checkKey(raw: string, field: string): string {
  const key = raw.trim();
  if (key.length < 1 || key.length > 200) throw badInput(`${field} must have 1–200 characters; received ${key.length}`, field);
  return key;
}

const appointmentNotFound = (id: string) => notFound(`You have no appointment with id ${JSON.stringify(id)}`);

/**
 * XiaoKe's bookings: open slots, booking idempotent by a client key, and
 * cancelling (which frees the slot). A slot is booked at most once, by the
 * database's rule: of concurrent bookings one wins, the others are CONFLICT.
 */
export class AppointmentService {
  constructor(private readonly deps: { database: Database; now?: () => Date }) {}

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Open slots from `from` (default now), earliest first, of one practitioner or all; `first` 1–100 (default 20). */
  async openSlots(options: { practitionerId?: string; from?: string; first?: number }): Promise<OpenSlot[]> {
    const first = options.first ?? 20;
    if (!Number.isInteger(first) || first < 1 || first > MAX_SLOTS) throw badInput(`first must be an integer from 1 to ${MAX_SLOTS}; received ${first}`, 'first');
    const from = options.from === undefined ? this.now() : new Date(options.from);
    if (Number.isNaN(from.getTime())) throw badInput(`from must be an RFC 3339 date-time; received ${JSON.stringify(options.from)}`, 'from');
    const practitionerId = options.practitionerId?.toLowerCase() ?? null;
    if (practitionerId !== null && !isUuid(practitionerId)) return [];
    const earliest = from < this.now() ? this.now() : from;
    const rows = await selectOpenSlotPages(this.deps.database, [{ practitionerId, from: earliest, limit: first, after: null }]);
    return rows.map(({ row }) => ({ id: row.id, practitionerId: row.practitionerId, practitionerName: row.practitionerName, startsAt: row.startsAt.toISOString(), endsAt: row.endsAt.toISOString() }));
  }

  /** `bookAppointment` for the tools: the booking in the tool's shape. CONFLICT when the slot is taken. */
  async book(userId: string, input: { slotId: string; clientKey: string }): Promise<BookedAppointment> {
    const booked = await this.bookAppointment(userId, input);
    return { id: booked.id, slotId: booked.slotId, startsAt: booked.startsAt.toISOString(), practitionerName: booked.practitionerName, status: booked.status };
  }

  /**
   * Books the slot for the user. The same key returns the booking made under it
   * (whatever became of it since); the same key for another slot is
   * BAD_USER_INPUT; an unknown slot NOT_FOUND; a slot that has begun
   * BAD_USER_INPUT; a slot someone holds CONFLICT.
   */
  async bookAppointment(userId: string, input: { slotId: string; clientKey: string }): Promise<StoredAppointment> {
    const clientKey = checkKey(input.clientKey, 'input.clientKey');
    const slotId = input.slotId.trim().toLowerCase();
    const replay = (existing: StoredAppointment) => {
      if (existing.slotId !== slotId) {
        throw badInput(`clientKey ${JSON.stringify(clientKey)} was already used to book slot ${existing.slotId}; use a new key to book slot ${JSON.stringify(input.slotId)}`, 'input.clientKey');
      }
      return existing;
    };
    const earlier = await appointmentByClientKey(this.deps.database, userId, clientKey);
    if (earlier) return replay(earlier);
    const slot = isUuid(slotId) ? await selectSlot(this.deps.database, slotId) : undefined;
    if (!slot) throw notFound(`No slot with id ${JSON.stringify(input.slotId)} was found`);
    if (slot.startsAt <= this.now()) throw badInput(`slot ${slotId} began at ${slot.startsAt.toISOString()}; book a slot that has not begun`, 'input.slotId');
    // No early CONFLICT on `slot.booked`: the booking that holds it may be this user's under this key, made by a
    // concurrent retry a moment ago. The INSERT decides, then the key is looked at again.
    const id = await insertAppointment(this.deps.database, userId, slotId, clientKey);
    if (id) {
      const stored = await appointmentById(this.deps.database, id);
      if (!stored) throw new Error(`appointment ${id} vanished after it was booked`);
      return stored;
    }
    // Refused by a unique rule: the same key from a concurrent request of this user, or the slot taken meanwhile.
    const concurrent = await appointmentByClientKey(this.deps.database, userId, clientKey);
    if (concurrent) return replay(concurrent);
    throw taken(slot);
  }

  /**
   * Cancels the user's appointment, freeing its slot. Cancelling again returns
   * it as it is. With `clientKey`, the key may not have cancelled another
   * appointment (BAD_USER_INPUT). NOT_FOUND for an unknown id and for anyone
   * else's appointment alike; BAD_USER_INPUT once it has begun.
   */
  async cancel(userId: string, input: { appointmentId: string; clientKey?: string | null }): Promise<StoredAppointment> {
    const id = input.appointmentId.trim().toLowerCase();
    const cancelKey = input.clientKey === undefined || input.clientKey === null ? null : checkKey(input.clientKey, 'input.clientKey');
    if (cancelKey !== null) {
      const used = await appointmentByCancelKey(this.deps.database, userId, cancelKey);
      if (used && used.id !== id) throw badInput(`clientKey ${JSON.stringify(cancelKey)} already cancelled appointment ${used.id}; use a new key`, 'input.clientKey');
      if (used) return used;
    }
    const found = isUuid(id) ? await appointmentById(this.deps.database, id) : undefined;
    if (!found || found.userId !== userId) throw appointmentNotFound(input.appointmentId);
    if (found.status === 'CANCELLED') return found;
    if (found.startsAt <= this.now()) throw badInput(`appointment ${id} began at ${found.startsAt.toISOString()} and can no longer be cancelled`, 'input.appointmentId');
    await markCancelled(this.deps.database, id, cancelKey);
    const cancelled = await appointmentById(this.deps.database, id);
    if (!cancelled) throw new Error(`appointment ${id} vanished after it was cancelled`);
    return cancelled;
  }
}

function taken(slot: { id: string; practitionerName: string; startsAt: Date }) {
  return conflict(`Slot ${slot.id} (${slot.practitionerName}, ${slot.startsAt.toISOString()}) is already booked; choose another slot`);
}

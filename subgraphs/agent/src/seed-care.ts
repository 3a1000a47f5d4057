import { sql } from 'drizzle-orm';
import { type Database, arrayParam, rowsOf } from '@suoke/platform';

/** The development practitioners XiaoKe books (fixed ids, so that seeding again changes nothing). */
export const SEED_PRACTITIONERS = [
  { id: '7c1e6f0a-2b59-5d3e-9a41-0c8f3e2d1a01', name: '王清和', title: '主任中医师', specialty: '脾胃病、体质调理' },
  { id: '7c1e6f0a-2b59-5d3e-9a41-0c8f3e2d1a02', name: '李素心', title: '副主任中医师', specialty: '失眠、情志病、妇科调理' },
  { id: '7c1e6f0a-2b59-5d3e-9a41-0c8f3e2d1a03', name: '陈远山', title: '主治中医师', specialty: '针灸推拿、颈肩腰腿痛' },
] as const;

/** Half-hour slots in the clinic's local time (UTC+8): mornings and early afternoons. */
const LOCAL_STARTS = ['09:00', '09:30', '10:00', '10:30', '14:00', '14:30'];
const CLINIC_OFFSET_HOURS = 8;
const SLOT_MINUTES = 30;
const DAY = 86_400_000;

export interface SeedCareOptions {
  /** Days from the day after `now` to offer slots on (weekdays only); default 21. */
  days?: number;
  now?: Date;
}

/** A UUID fixed by a slot's practitioner and start (version 5 layout, as seed.ts's). */
function slotId(practitionerId: string, startsAt: Date, uuid: (name: string) => string): string {
  return uuid(`slot:${practitionerId}:${startsAt.toISOString()}`);
}

/**
 * Practitioners and their open slots over the coming weeks, for development.
 * Idempotent: ids derive from the practitioner and the start, so a second run
 * adds only the days that came into range. Two statements in all.
 */
export async function seedPractitioners(database: Database, uuid: (name: string) => string, options: SeedCareOptions = {}): Promise<{ practitioners: number; slots: number }> {
  const now = options.now ?? new Date();
  const days = options.days ?? 21;
  const firstDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY;
  const slots: Array<{ id: string; practitionerId: string; startsAt: Date; endsAt: Date }> = [];
  for (let d = 0; d < days; d += 1) {
    const day = new Date(firstDay + d * DAY);
    const weekday = day.getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (const practitioner of SEED_PRACTITIONERS) {
      for (const local of LOCAL_STARTS) {
        const [h, m] = local.split(':').map(Number) as [number, number];
        const startsAt = new Date(day.getTime() + ((h - CLINIC_OFFSET_HOURS) * 60 + m) * 60_000);
        slots.push({ id: slotId(practitioner.id, startsAt, uuid), practitionerId: practitioner.id, startsAt, endsAt: new Date(startsAt.getTime() + SLOT_MINUTES * 60_000) });
      }
    }
  }
  return database.db.transaction(async (tx) => {
    const added = await tx.execute(sql`
      insert into "agent".practitioners (id, position, name, title, specialty)
      select * from unnest(
        ${arrayParam(SEED_PRACTITIONERS.map((p) => p.id), 'uuid')},
        ${arrayParam(SEED_PRACTITIONERS.map((_, i) => i + 1), 'int')},
        ${arrayParam(SEED_PRACTITIONERS.map((p) => p.name), 'text')},
        ${arrayParam(SEED_PRACTITIONERS.map((p) => p.title), 'text')},
        ${arrayParam(SEED_PRACTITIONERS.map((p) => p.specialty), 'text')}
      )
      on conflict (id) do nothing
      returning id`);
    const opened = await tx.execute(sql`
      insert into "agent".slots (id, practitioner_id, starts_at, ends_at)
      select * from unnest(
        ${arrayParam(slots.map((s) => s.id), 'uuid')},
        ${arrayParam(slots.map((s) => s.practitionerId), 'uuid')},
        ${arrayParam(slots.map((s) => s.startsAt), 'timestamptz')},
        ${arrayParam(slots.map((s) => s.endsAt), 'timestamptz')}
      )
      on conflict do nothing
      returning id`);
    return { practitioners: rowsOf(added).length, slots: rowsOf(opened).length };
  });
}

import { isUuid, keyedLoader, positionalLoader, type Database } from '@suoke/platform';
import { selectAppointmentPages, selectOpenSlotPages, selectPractitioners, selectPractitionersById, type AppointmentPageQuery, type SlotPageQuery } from './db/appointments.js';
import { selectCarePlanPages, selectCarePlans, type CarePlanPageQuery, type CarePlanQuery } from './db/care-plans.js';
import type { CarePlanRow, PractitionerRow } from './db/schema.js';

/**
 * XiaoKe's per-request loaders (care plans, practitioners, slots, appointments),
 * merged into `createLoaders`. Each batch is one SQL statement whatever the
 * number of keys; keys that cannot match (no UUID) never reach SQL.
 */
export function createCareLoaders(database: Database) {
  const practitionerById = keyedLoader<string, PractitionerRow | null, PractitionerRow>(
    (ids) => {
      const valid = ids.map((id) => id.toLowerCase()).filter(isUuid);
      return valid.length === 0 ? Promise.resolve([]) : selectPractitionersById(database, valid);
    },
    (row) => row.id,
    { missing: null, cacheKey: (id) => id.toLowerCase() },
  );
  let practitionerList: Promise<PractitionerRow[]> | undefined;
  return {
    /** Every practitioner in order, read at most once per request; primes `practitionerById`. */
    practitioners: () =>
      (practitionerList ??= selectPractitioners(database).then((rows) => {
        for (const row of rows) practitionerById.prime(row.id, row);
        return rows;
      })),
    practitionerById,
    /** `carePlan(version)` of several users: one row or none each. */
    carePlan: positionalLoader<CarePlanQuery, CarePlanRow>((keys) => selectCarePlans(database, keys), (key) => isUuid(key.userId)),
    carePlanPage: positionalLoader<CarePlanPageQuery, CarePlanRow>((keys) => selectCarePlanPages(database, keys), (key) => isUuid(key.userId)),
    slotPage: positionalLoader<SlotPageQuery, Awaited<ReturnType<typeof selectOpenSlotPages>>[number]['row']>(
      (keys) => selectOpenSlotPages(database, keys),
      (key) => key.practitionerId === null || isUuid(key.practitionerId),
    ),
    appointmentPage: positionalLoader<AppointmentPageQuery, Awaited<ReturnType<typeof selectAppointmentPages>>[number]['row']>(
      (keys) => selectAppointmentPages(database, keys),
      (key) => isUuid(key.userId),
    ),
  };
}

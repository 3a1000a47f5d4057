import { DateTime, IANAZone } from 'luxon';
import { badInput } from '@suoke/platform';
import type { ReminderRecurrence } from '../db/schema.js';

/**
 * Wall-clock times in a user's time zone (luxon over the platform's Intl
 * time-zone data). Occurrence n of a reminder is its local start plus n days
 * or weeks on the wall clock, then resolved in the zone: a daily 08:00 stays
 * 08:00 across daylight-saving changes. A wall time that a spring-forward gap
 * skips resolves to the same time after the gap (02:30 → 03:30); a wall time
 * that a fall-back repeats resolves to its second instant (the standard-time
 * offset, luxon's choice), so it fires once, not twice.
 */

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/;
export const RECURRENCES: readonly ReminderRecurrence[] = ['NONE', 'DAILY', 'WEEKLY'];
/** How far ahead a reminder may start. */
const MAX_AHEAD_YEARS = 5;

/** Checks a time zone name: an IANA zone such as `Asia/Shanghai`, else BAD_USER_INPUT. */
export function checkTimeZone(timeZone: string, field = 'input.timeZone'): string {
  const name = timeZone.trim();
  if (!name || !IANAZone.isValidZone(name)) throw badInput(`timeZone must be an IANA time zone name such as "Asia/Shanghai"; received ${JSON.stringify(timeZone)}`, field);
  return name;
}

/** Checks `YYYY-MM-DDTHH:mm` (a real calendar date and time, no seconds, no offset), else BAD_USER_INPUT. */
export function checkLocalDateTime(value: string, field = 'input.startsAt'): string {
  const match = LOCAL.exec(value);
  const [, y, mo, d, h, mi] = match ?? [];
  const valid = match && DateTime.fromObject({ year: +y!, month: +mo!, day: +d!, hour: +h!, minute: +mi! }, { zone: 'UTC' }).isValid;
  if (!valid) throw badInput(`startsAt must be a local date-time "YYYY-MM-DDTHH:mm" (no seconds, no offset); received ${JSON.stringify(value)}`, field);
  return value;
}

/** Occurrence `n` of a reminder starting at `localStart` in `timeZone`, as an instant. */
export function occurrenceAt(localStart: string, timeZone: string, recurrence: ReminderRecurrence, n: number): Date {
  const start = DateTime.fromISO(localStart, { zone: timeZone });
  const local = n === 0 || recurrence === 'NONE' ? start : start.plus(recurrence === 'DAILY' ? { days: n } : { weeks: n });
  return local.toJSDate();
}

/**
 * The first occurrence at or after `now`: a one-off reminder in the past is BAD_USER_INPUT; a recurring one
 * starts at its first occurrence still to come. Returns its number and instant.
 */
export function firstOccurrence(localStart: string, timeZone: string, recurrence: ReminderRecurrence, now: Date): { occurrence: number; at: Date } {
  const first = occurrenceAt(localStart, timeZone, recurrence, 0);
  const latest = DateTime.fromJSDate(now).plus({ years: MAX_AHEAD_YEARS }).toJSDate();
  if (first > latest) throw badInput(`startsAt must be at most ${MAX_AHEAD_YEARS} years ahead; received ${JSON.stringify(localStart)}`, 'input.startsAt');
  if (first.getTime() > now.getTime()) return { occurrence: 0, at: first };
  if (recurrence === 'NONE') {
    throw badInput(`startsAt must be in the future in ${timeZone} (now ${DateTime.fromJSDate(now, { zone: timeZone }).toFormat("yyyy-MM-dd'T'HH:mm")}); received ${JSON.stringify(localStart)}`, 'input.startsAt');
  }
  // Skip the occurrences already past: an estimate from the elapsed time, then step to the first one to come.
  const stepMs = (recurrence === 'DAILY' ? 1 : 7) * 86_400_000;
  let n = Math.max(0, Math.floor((now.getTime() - first.getTime()) / stepMs) - 1);
  while (occurrenceAt(localStart, timeZone, recurrence, n).getTime() <= now.getTime()) n += 1;
  return { occurrence: n, at: occurrenceAt(localStart, timeZone, recurrence, n) };
}

/** The instant as local wall time in the zone, `YYYY-MM-DDTHH:mm`. */
export function localTime(at: Date, timeZone: string): string {
  return DateTime.fromJSDate(at, { zone: timeZone }).toFormat("yyyy-MM-dd'T'HH:mm");
}

import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Database, arrayParam, isUuid } from '@suoke/platform';
import { storeObservations } from './db/ingest.js';
import type { NewObservation } from './service/ingest.js';
import type { ObservationTypeName } from './service/observation-types.js';

export interface SeedHealthOptions {
  /** Users to seed (ids from the user subgraph). */
  userIds: string[];
  /** Days of history ending today (UTC), 1–366. Default 7. */
  days?: number;
  /** The instant seeding happens at; observations after it are left for a later run. Default: now. */
  now?: Date;
}

export interface SeedHealthResult {
  inserted: number;
  duplicates: number;
  /** Profiles created; existing profiles are left as they are. */
  profiles: number;
}

/** Rows per ingest transaction: large enough to be few statements, small enough to keep parameters modest. */
const CHUNK = 5000;

/**
 * Writes a plausible history per user: heart rate four times a day, blood
 * pressure, sleep, steps and weight daily, plus a health profile when the user
 * has none. Values and times derive from (user, date, type, n) and externalIds
 * are `seed-<date>-<type>-<n>`, so running it again stores nothing twice.
 * Statements are batched: two per CHUNK observations and one for all profiles.
 */
export async function seedHealth(database: Database, options: SeedHealthOptions): Promise<SeedHealthResult> {
  const days = options.days ?? 7;
  const now = options.now ?? new Date();
  if (!Number.isInteger(days) || days < 1 || days > 366) throw new Error(`seedHealth: days must be 1–366; received ${days}`);
  const invalid = options.userIds.filter((id) => !isUuid(id));
  if (invalid.length > 0) throw new Error(`seedHealth: user ids must be UUIDs; received ${invalid.join(', ')}`);
  const userIds = [...new Set(options.userIds.map((id) => id.toLowerCase()))];
  if (userIds.length === 0) return { inserted: 0, duplicates: 0, profiles: 0 };

  const items = userIds.flatMap((userId) => observationsFor(userId, days, now));
  let inserted = 0;
  let duplicates = 0;
  for (let start = 0; start < items.length; start += CHUNK) {
    const result = await storeObservations(database, items.slice(start, start + CHUNK));
    inserted += result.inserted.length;
    duplicates += result.duplicates;
  }
  return { inserted, duplicates, profiles: await seedProfiles(database, userIds) };
}

/** A number in [0, 1) fixed by its inputs. */
function unit(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('|')).digest().readUInt32BE(0) / 2 ** 32;
}

const round = (value: number, decimals: number) => Number(value.toFixed(decimals));

function observationsFor(userId: string, days: number, now: Date): NewObservation[] {
  const items: NewObservation[] = [];
  const restingHeartRate = 58 + unit(userId, 'hr') * 16;
  const systolic = 108 + unit(userId, 'sys') * 24;
  const weight = 52 + unit(userId, 'kg') * 34;
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  for (let d = days - 1; d >= 0; d -= 1) {
    const dayStart = today - d * 86_400_000;
    const date = new Date(dayStart).toISOString().slice(0, 10);
    const add = (type: ObservationTypeName, n: number, hour: number, value: number, diastolic: number | null = null) => {
      const recordedAt = new Date(dayStart + hour * 3_600_000);
      if (recordedAt > now) return;
      items.push({ userId, externalId: `seed-${date}-${type}-${n}`, type, value, diastolic, recordedAt, source: 'seed' });
    };
    [7, 12, 17, 22].forEach((hour, n) => {
      const activity = hour === 17 ? 18 : 0;
      add('HEART_RATE', n, hour, Math.round(restingHeartRate + activity + (unit(userId, date, 'hr', n) - 0.5) * 12));
    });
    const sys = Math.round(systolic + (unit(userId, date, 'sys') - 0.5) * 10);
    add('BLOOD_PRESSURE', 0, 8, sys, Math.round(sys * 0.64 + (unit(userId, date, 'dia') - 0.5) * 6));
    add('SLEEP', 0, 6.5, Math.round(390 + unit(userId, date, 'sleep') * 120));
    add('WEIGHT', 0, 7.5, round(weight + (unit(userId, date, 'kg') - 0.5), 1));
    add('STEPS', 0, 23, Math.round(3000 + unit(userId, date, 'steps') * 9000));
  }
  return items;
}

const SEXES = ['FEMALE', 'MALE'] as const;
const BLOOD_TYPES = ['A_POSITIVE', 'B_POSITIVE', 'O_POSITIVE', 'AB_POSITIVE', 'O_NEGATIVE'] as const;

async function seedProfiles(database: Database, userIds: string[]): Promise<number> {
  const pick = <T>(list: readonly T[], userId: string, salt: string) => list[Math.floor(unit(userId, salt) * list.length)] as T;
  const birthDates = userIds.map((id) => `${1955 + Math.floor(unit(id, 'born') * 45)}-0${1 + Math.floor(unit(id, 'month') * 9)}-15`);
  const rows = await database.rows<{ user_id: string }>(sql`
    insert into "health".profiles (user_id, sex, birth_date, height_cm, blood_type)
    select * from unnest(
      ${arrayParam(userIds, 'uuid')},
      ${arrayParam(userIds.map((id) => pick(SEXES, id, 'sex')), 'text')},
      ${arrayParam(birthDates, 'date')},
      ${arrayParam(userIds.map((id) => round(152 + unit(id, 'cm') * 36, 1)), 'float8')},
      ${arrayParam(userIds.map((id) => pick(BLOOD_TYPES, id, 'blood')), 'text')}
    )
    on conflict (user_id) do nothing
    returning user_id`);
  return rows.length;
}

import { sql } from 'drizzle-orm';
import { badInput, type Database } from '@suoke/platform';
import { toProfile } from '../db/queries.js';
import { profiles, type ProfileRow } from '../db/schema.js';

/** The GraphQL `UpdateHealthProfileInput`: an absent key keeps the stored value, null clears it. */
export interface ProfileInput {
  sex?: ProfileRow['sex'];
  birthDate?: string | null;
  heightCm?: number | null;
  bloodType?: ProfileRow['bloodType'];
  conditions?: readonly string[] | null;
}

type ProfileChanges = Partial<Pick<ProfileRow, 'sex' | 'birthDate' | 'heightCm' | 'bloodType' | 'conditions'>>;

export const HEIGHT_CM = { min: 30, max: 272 } as const;
export const MAX_CONDITIONS = 50;
export const CONDITION_MAX = 100;
const EARLIEST_BIRTH = '1900-01-01';
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Checks the input and returns the columns to change. Errors name the input path and the value received. */
export function profileChanges(input: ProfileInput, today: Date = new Date()): ProfileChanges {
  const changes: ProfileChanges = {};
  if ('sex' in input) changes.sex = input.sex ?? null;
  if ('bloodType' in input) changes.bloodType = input.bloodType ?? null;
  if ('birthDate' in input) changes.birthDate = input.birthDate == null ? null : checkBirthDate(input.birthDate, today);
  if ('heightCm' in input) {
    const height = input.heightCm;
    if (height != null && !(height >= HEIGHT_CM.min && height <= HEIGHT_CM.max)) {
      throw badInput(`heightCm must be ${HEIGHT_CM.min}–${HEIGHT_CM.max} cm; received ${height}`, 'input.heightCm');
    }
    changes.heightCm = height ?? null;
  }
  if ('conditions' in input) changes.conditions = input.conditions == null ? [] : checkConditions(input.conditions);
  if (Object.keys(changes).length === 0) {
    throw badInput('updateHealthProfile needs at least one of sex, birthDate, heightCm, bloodType, conditions', 'input');
  }
  return changes;
}

function checkBirthDate(value: string, today: Date): string {
  const match = ISO_DATE.exec(value);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  // Date.UTC rolls 2001-02-30 over to March; a real calendar date survives the round trip.
  const real = date !== undefined && date.toISOString().slice(0, 10) === value;
  const latest = today.toISOString().slice(0, 10);
  if (!real || value < EARLIEST_BIRTH || value > latest) {
    throw badInput(`birthDate must be a calendar date YYYY-MM-DD from ${EARLIEST_BIRTH} to ${latest}; received ${JSON.stringify(value)}`, 'input.birthDate');
  }
  return value;
}

function checkConditions(conditions: readonly string[]): string[] {
  if (conditions.length > MAX_CONDITIONS) {
    throw badInput(`conditions must have at most ${MAX_CONDITIONS} entries; received ${conditions.length}`, 'input.conditions');
  }
  const kept: string[] = [];
  conditions.forEach((raw, index) => {
    const condition = raw.trim();
    const length = [...condition].length;
    if (length < 1 || length > CONDITION_MAX || /\p{Cc}/u.test(condition)) {
      throw badInput(
        `each condition must be 1–${CONDITION_MAX} characters without control characters; received ${length} characters`,
        `input.conditions[${index}]`,
      );
    }
    if (!kept.includes(condition)) kept.push(condition);
  });
  return kept;
}

/** Creates or changes the user's profile in one statement. */
export async function saveProfile(database: Database, userId: string, input: ProfileInput): Promise<ProfileRow> {
  const changes = profileChanges(input);
  const [row] = await database.db
    .insert(profiles)
    .values({ userId, ...changes })
    .onConflictDoUpdate({ target: profiles.userId, set: { ...changes, updatedAt: sql`now()` } })
    .returning();
  if (!row) throw new Error('profile upsert returned no row');
  return toProfile(row);
}

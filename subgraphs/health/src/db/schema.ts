import { date, doublePrecision, pgSchema, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { ObservationTypeName } from '../service/observation-types.js';

/**
 * The health subgraph's own Postgres schema; no other subgraph reads it. Mirrors
 * migrations/ (which also hold what drizzle cannot express: the monthly
 * partitioning of observations and the function that creates partitions).
 */
export const healthSchema = pgSchema('health');

export const observations = healthSchema.table(
  'observations',
  {
    id: uuid('id').notNull().defaultRandom(),
    userId: uuid('user_id').notNull(),
    type: text('type').notNull().$type<ObservationTypeName>(),
    value: doublePrecision('value').notNull(),
    diastolic: doublePrecision('diastolic'),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'date' }).notNull(),
    source: text('source'),
    externalId: text('external_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.id, table.recordedAt] })],
);

export const observationKeys = healthSchema.table(
  'observation_keys',
  {
    userId: uuid('user_id').notNull(),
    externalId: text('external_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.externalId] })],
);

export const profiles = healthSchema.table('profiles', {
  userId: uuid('user_id').primaryKey(),
  sex: text('sex').$type<'FEMALE' | 'MALE' | 'OTHER'>(),
  birthDate: date('birth_date', { mode: 'string' }),
  heightCm: doublePrecision('height_cm'),
  bloodType: text('blood_type').$type<
    'A_POSITIVE' | 'A_NEGATIVE' | 'B_POSITIVE' | 'B_NEGATIVE' | 'AB_POSITIVE' | 'AB_NEGATIVE' | 'O_POSITIVE' | 'O_NEGATIVE'
  >(),
  conditions: text('conditions').array().notNull().default([]),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** What an `Observation` resolves from. */
export interface ObservationRow {
  id: string;
  userId: string;
  type: ObservationTypeName;
  value: number;
  diastolic: number | null;
  recordedAt: Date;
  source: string | null;
  externalId: string;
}

/** What a `HealthProfile` resolves from: the stored row, `id` being the user id. */
export type ProfileRow = typeof profiles.$inferSelect & { id: string };

/** What an `ObservationStat` resolves from. */
export interface ObservationStatRow {
  type: ObservationTypeName;
  count: number;
  average: number;
  min: number;
  max: number;
  latest: number;
  latestAt: Date;
  averageDiastolic: number | null;
  latestDiastolic: number | null;
}

/** A `User` as this subgraph knows it: only the key, from the entity representation. */
export interface UserRef {
  id: string;
}

/** A `HealthSummary` entity as resolved: its key's parts and the window's statistics (null when it holds none). */
export interface HealthSummaryRow {
  id: string;
  userId: string;
  type: ObservationTypeName;
  from: Date;
  to: Date;
  stat: ObservationStatRow | null;
}

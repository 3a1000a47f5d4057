import { badInput, type Database } from '@suoke/platform';
import { storeObservations } from '../db/ingest.js';
import { checkMeasurement, type ObservationTypeName } from './observation-types.js';

/** What a client sends per observation (the GraphQL `ObservationInput`). */
export interface ObservationInputLike {
  externalId: string;
  type: string;
  value: number;
  diastolic?: number | null;
  recordedAt: Date | string;
  source?: string | null;
}

/** A validated observation, ready to store for `userId`. */
export interface NewObservation {
  userId: string;
  externalId: string;
  type: ObservationTypeName;
  value: number;
  diastolic: number | null;
  recordedAt: Date;
  source: string | null;
}

export const MAX_BATCH = 1000;
export const EXTERNAL_ID_MAX = 128;
export const SOURCE_MAX = 64;

/** How far back and ahead `recordedAt` may be (OBSERVATION_MAX_AGE_MONTHS, OBSERVATION_MAX_FUTURE_MS). */
export interface RecordingBounds {
  maxAgeMonths: number;
  maxFutureMs: number;
}

export const DEFAULT_BOUNDS: RecordingBounds = { maxAgeMonths: 24, maxFutureMs: 5 * 60_000 };

/** The start of the UTC month `months` after (or, negative, before) the month of `at`. */
export function monthStart(at: Date, months = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1));
}

/** The instants `recordedAt` may take at `now`: whole months back, so that the window is whole partitions. */
export function recordingWindow(now: Date, bounds: RecordingBounds): { earliest: Date; latest: Date } {
  return { earliest: monthStart(now, -bounds.maxAgeMonths), latest: new Date(now.getTime() + bounds.maxFutureMs) };
}
/** How many problems one error message lists before summarising the rest. */
const LISTED_PROBLEMS = 5;

interface Problem {
  field: string;
  message: string;
}

/**
 * Validates a whole batch before anything is stored: 1–1000 items, each within
 * its type's range, each externalId once. Any problem fails the batch with one
 * BAD_USER_INPUT whose message names the items (index, externalId, type, rule,
 * value received) and whose `field` is the first bad input path, e.g.
 * `input[3].value`.
 */
export function validateBatch(userId: string, input: readonly ObservationInputLike[], now: Date = new Date(), bounds: RecordingBounds = DEFAULT_BOUNDS): NewObservation[] {
  if (input.length < 1 || input.length > MAX_BATCH) {
    throw badInput(`input must contain 1–${MAX_BATCH} observations; received ${input.length}`, 'input');
  }
  const { earliest, latest } = recordingWindow(now, bounds);
  const ahead = bounds.maxFutureMs % 60_000 === 0 ? `${bounds.maxFutureMs / 60_000} minutes` : `${bounds.maxFutureMs / 1000} seconds`;
  const problems: Problem[] = [];
  const firstIndexOf = new Map<string, number>();
  const valid: NewObservation[] = [];
  input.forEach((item, index) => {
    const path = `input[${index}]`;
    const label = `${path} (externalId ${JSON.stringify(clip(item.externalId))}, ${item.type})`;
    const report = (field: string, message: string) => problems.push({ field: `${path}.${field}`, message: `${label}: ${message}` });

    const idLength = [...item.externalId].length;
    if (idLength < 1 || idLength > EXTERNAL_ID_MAX) {
      return report('externalId', `externalId must be 1–${EXTERNAL_ID_MAX} characters; received ${idLength}`);
    }
    const seen = firstIndexOf.get(item.externalId);
    if (seen !== undefined) {
      return report('externalId', `externalId appears more than once in this batch (also input[${seen}])`);
    }
    firstIndexOf.set(item.externalId, index);

    const measurement = checkMeasurement(item.type, item.value, item.diastolic);
    if (measurement) return report(measurement.field, measurement.message);

    const recordedAt = item.recordedAt instanceof Date ? item.recordedAt : new Date(item.recordedAt);
    if (Number.isNaN(recordedAt.getTime()) || recordedAt < earliest || recordedAt > latest) {
      const received = Number.isNaN(recordedAt.getTime()) ? JSON.stringify(String(item.recordedAt)) : recordedAt.toISOString();
      return report(
        'recordedAt',
        `recordedAt must be from ${earliest.toISOString()} (${bounds.maxAgeMonths} months back) to ${ahead} after now (${latest.toISOString()}); received ${received}`,
      );
    }

    const source = item.source?.trim() ? item.source.trim() : null;
    if (source !== null && [...source].length > SOURCE_MAX) {
      return report('source', `source must be at most ${SOURCE_MAX} characters; received ${[...source].length}`);
    }

    valid.push({
      userId,
      externalId: item.externalId,
      type: item.type as ObservationTypeName,
      value: item.value,
      diastolic: item.diastolic ?? null,
      recordedAt,
      source,
    });
  });

  const [first] = problems;
  if (first) {
    const listed = problems.slice(0, LISTED_PROBLEMS).map((p) => p.message);
    const more = problems.length > LISTED_PROBLEMS ? `; and ${problems.length - LISTED_PROBLEMS} more` : '';
    const head = problems.length === 1 ? 'Nothing was stored: ' : `${problems.length} of ${input.length} observations are invalid; nothing was stored: `;
    throw badInput(`${head}${listed.join('; ')}${more}`, first.field);
  }
  return valid;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Validates the whole batch, then stores it for `userId` (see storeObservations). */
export async function recordObservations(database: Database, userId: string, input: readonly ObservationInputLike[], bounds: RecordingBounds = DEFAULT_BOUNDS) {
  const items = validateBatch(userId.toLowerCase(), input, new Date(), bounds);
  return storeObservations(database, items);
}

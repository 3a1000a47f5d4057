import { isUuid, keyedLoader, positionalLoader, withUuids, type Database } from '@suoke/platform';
import {
  selectObservationPages,
  selectObservationsByIds,
  selectProfiles,
  selectSummaries,
  selectWindowSummaries,
  type PageQuery,
  type WindowQuery,
  type PageRow,
  type SummaryQuery,
} from './db/queries.js';
import type { ObservationRow, ObservationStatRow, ProfileRow } from './db/schema.js';
import { DEFAULT_BOUNDS, recordingWindow, type RecordingBounds } from './service/ingest.js';

/**
 * Per-request loaders: every per-parent field and every entity reference goes
 * through one of these, and each batch is one SQL statement whatever the number
 * of keys. Keys that are not UUIDs cannot match a row and never reach SQL.
 */
export function createLoaders(database: Database, bounds: Pick<RecordingBounds, 'maxAgeMonths'> = DEFAULT_BOUNDS) {
  return {
    profileByUserId: keyedLoader<string, ProfileRow | null, ProfileRow>(
      (ids) => withUuids(ids, (valid) => selectProfiles(database, valid)),
      (row) => row.userId,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    observationById: keyedLoader<string, ObservationRow | null, ObservationRow>(
      (ids) => withUuids(ids, (valid) => selectObservationsByIds(database, valid)),
      (row) => row.id,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    // A read without `from` is bounded by the recording window, which the planner can prune partitions with.
    observationPage: positionalLoader<PageQuery, PageRow>(
      (keys) => selectObservationPages(database, keys, recordingWindow(new Date(), { ...DEFAULT_BOUNDS, ...bounds }).earliest),
      (key) => isUuid(key.userId),
    ),
    summary: positionalLoader<SummaryQuery, ObservationStatRow>((keys) => selectSummaries(database, keys), (key) => isUuid(key.userId)),
    /** `HealthSummary` entities: one type of one user over one window. */
    windowSummary: positionalLoader<WindowQuery, ObservationStatRow>((keys) => selectWindowSummaries(database, keys), (key) => isUuid(key.userId)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

import DataLoader from 'dataloader';
import { keyedLoader, type Database, isUuid } from '@suoke/platform';
import {
  selectConsultationPages,
  selectConsultations,
  selectLatestReports,
  selectMethodResults,
  selectQuestions,
  selectReportsByConsultation,
  toMethodResults,
  type PageQuery,
} from './db/queries.js';
import type { ConsultationRow, MethodResults, QuestionRow, ReportRow } from './db/schema.js';

type MethodRow = Awaited<ReturnType<typeof selectMethodResults>>[number];

/**
 * Per-request loaders: every per-parent field and every entity reference goes
 * through one of these, and each batch is one SQL statement whatever the number
 * of keys. Keys that are not UUIDs cannot match a row and never reach SQL.
 */
export function createLoaders(database: Database) {
  const consultationById = keyedLoader<string, ConsultationRow | null, ConsultationRow>(
    (ids) => withUuids(ids, (valid) => selectConsultations(database, valid)),
    (row) => row.id,
    { missing: null, cacheKey: (id) => id.toLowerCase() },
  );
  let questionnaire: Promise<QuestionRow[]> | undefined;
  return {
    consultationById,
    consultationPage: positionalLoader<PageQuery, ConsultationRow>(
      async (keys) => {
        const rows = await selectConsultationPages(database, keys);
        // A consultation read in a page is not read again by id in the same request.
        for (const { row } of rows) consultationById.prime(row.id, row);
        return rows;
      },
      (key) => isUuid(key.userId),
    ),
    methodResults: keyedLoader<string, MethodResults, MethodRow>(
      (ids) => withUuids(ids, (valid) => selectMethodResults(database, valid)),
      (row) => row.consultationId,
      { missing: {}, cacheKey: (id) => id.toLowerCase(), map: toMethodResults },
    ),
    reportByConsultation: keyedLoader<string, ReportRow | null, ReportRow>(
      (ids) => withUuids(ids, (valid) => selectReportsByConsultation(database, valid)),
      (row) => row.consultationId,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    latestReportByUser: keyedLoader<string, ReportRow | null, ReportRow>(
      (ids) => withUuids(ids, (valid) => selectLatestReports(database, valid)),
      (row) => row.userId,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    /** The questionnaire, read at most once per request. */
    questionnaire: () => (questionnaire ??= selectQuestions(database)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

async function withUuids<R>(ids: readonly string[], load: (valid: string[]) => Promise<R[]>): Promise<R[]> {
  const valid = ids.filter(isUuid);
  return valid.length === 0 ? [] : load(valid);
}

/**
 * A loader for composite keys whose batch query returns rows tagged with the
 * 1-based position (`ord`) of the key they answer; each key gets its rows in
 * query order (an empty list when none). Keys failing `canMatch` get an empty
 * list without being sent. Identical keys (by JSON) are loaded once.
 */
function positionalLoader<K, R>(
  query: (keys: K[]) => Promise<Array<{ ord: number; row: R }>>,
  canMatch: (key: K) => boolean,
): DataLoader<K, R[], string> {
  return new DataLoader<K, R[], string>(
    async (keys) => {
      const sent = keys.filter(canMatch);
      const results = new Map<K, R[]>(keys.map((key) => [key, []]));
      if (sent.length === 0) return keys.map(() => []);
      for (const { ord, row } of await query(sent)) results.get(sent[ord - 1] as K)?.push(row);
      return keys.map((key) => results.get(key) ?? []);
    },
    { cacheKeyFn: (key) => JSON.stringify(key) },
  );
}

import { isUuid, keyedLoader, positionalLoader, withUuids, type Database } from '@suoke/platform';
import {
  selectConsultationPages,
  selectConsultations,
  selectLatestReports,
  selectMethodResults,
  selectQuestions,
  selectReportsByConsultation,
  selectReportsByIds,
  toMethodResults,
  type PageQuery,
} from './db/queries.js';
import { selectMediaByConsultations, selectMediaByIds } from './db/media.js';
import type { ConsultationRow, MediaRow, MethodResults, QuestionRow, ReportRow } from './db/schema.js';

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
    /** `DiagnosisReport` entity references (a reply's citations). */
    reportById: keyedLoader<string, ReportRow | null, ReportRow>(
      (ids) => withUuids(ids, (valid) => selectReportsByIds(database, valid)),
      (row) => row.id,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    latestReportByUser: keyedLoader<string, ReportRow | null, ReportRow>(
      (ids) => withUuids(ids, (valid) => selectLatestReports(database, valid)),
      (row) => row.userId,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    /** `Consultation.media`: every consultation's media, newest first, in one statement. */
    mediaByConsultation: keyedLoader<string, MediaRow[], MediaRow>(
      (ids) => withUuids(ids, (valid) => selectMediaByConsultations(database, valid)),
      (row) => row.consultationId,
      { missing: [], collect: 'many', cacheKey: (id) => id.toLowerCase() },
    ),
    /** The photo or recording a method's result was made from. */
    mediaById: keyedLoader<string, MediaRow | null, MediaRow>(
      (ids) => withUuids(ids, (valid) => selectMediaByIds(database, valid)),
      (row) => row.id,
      { missing: null, cacheKey: (id) => id.toLowerCase() },
    ),
    /** The questionnaire, read at most once per request. */
    questionnaire: () => (questionnaire ??= selectQuestions(database)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

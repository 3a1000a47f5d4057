import { and, desc, eq, gt, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import type { Database } from '@suoke/platform';
import type { CheckedMedia, MediaKind } from '../media/contracts.js';
import type { Method } from '../service/findings.js';
import type { Tx } from './consultations.js';
import { media, methodResults, type MediaRow, type MediaStatus, type MediaSubmission } from './schema.js';

/**
 * The statements of a photo's or recording's life (issue 21). A status change
 * is conditional on the status it leaves, so two submits, or a submit and the
 * retention sweep, cannot both win.
 */

export async function insertMedia(
  tx: Tx,
  row: { id: string; userId: string; consultationId: string; kind: MediaKind; declaredType: string; declaredBytes: number; uploadExpiresAt: Date },
): Promise<MediaRow> {
  const [inserted] = await tx.insert(media).values({ ...row, status: 'AWAITING_UPLOAD' }).returning();
  if (!inserted) throw new Error('media insert returned no row');
  return inserted;
}

export async function selectMedia(database: Database | Tx, id: string): Promise<MediaRow | undefined> {
  const db = 'db' in database ? database.db : database;
  const [row] = await db.select().from(media).where(eq(media.id, id));
  return row;
}

/** Every media of these consultations, newest first within each (`Consultation.media`): one statement. */
export async function selectMediaByConsultations(database: Database, consultationIds: readonly string[]): Promise<MediaRow[]> {
  return database.db
    .select()
    .from(media)
    .where(inArray(media.consultationId, [...consultationIds]))
    .orderBy(desc(media.createdAt), desc(media.id));
}

export async function selectMediaByIds(database: Database, ids: readonly string[]): Promise<MediaRow[]> {
  return database.db.select().from(media).where(inArray(media.id, [...ids]));
}

/** AWAITING_UPLOAD → ANALYSING with what the checks found and what the person chose; false when it had left AWAITING_UPLOAD. */
export async function markSubmitted(tx: Tx, id: string, checked: CheckedMedia, submission: MediaSubmission): Promise<boolean> {
  const rows = await tx
    .update(media)
    .set({
      status: 'ANALYSING',
      submittedAt: sql`now()`,
      contentType: checked.contentType,
      byteSize: checked.byteSize,
      width: checked.width ?? null,
      height: checked.height ?? null,
      durationSeconds: checked.durationSeconds ?? null,
      sampleRate: checked.sampleRate ?? null,
      submission,
    })
    .where(and(eq(media.id, id), eq(media.status, 'AWAITING_UPLOAD')))
    .returning({ id: media.id });
  return rows.length === 1;
}

/** Records the refusal of media in `from` (its bytes are deleted by the caller); false when it had moved on. */
export async function markFailed(
  database: Database | Tx,
  id: string,
  from: MediaStatus,
  failure: { reason: string; message: string },
): Promise<boolean> {
  const db = 'db' in database ? database.db : database;
  const rows = await db
    .update(media)
    .set({ status: 'FAILED', failureReason: failure.reason, failureMessage: failure.message, analysedAt: sql`now()`, originalKey: null })
    .where(and(eq(media.id, id), eq(media.status, from)))
    .returning({ id: media.id });
  return rows.length === 1;
}

/** The stripped original is kept under `key`, replacing the upload. */
export async function keepOriginal(database: Database, id: string, key: string, contentType: string, byteSize: number): Promise<void> {
  await database.db.update(media).set({ originalKey: key, contentType, byteSize }).where(eq(media.id, id));
}

/** ANALYSING → ANALYSED with the analysis; the row as updated, or undefined when it had left ANALYSING. */
export async function markAnalysed(tx: Tx, id: string, analysis: NonNullable<MediaRow['analysis']>): Promise<MediaRow | undefined> {
  const [row] = await tx
    .update(media)
    .set({ status: 'ANALYSED', analysis, analysedAt: sql`now()` })
    .where(and(eq(media.id, id), eq(media.status, 'ANALYSING')))
    .returning();
  return row;
}

/** A correction of analysed media: the new choices replace the old. */
export async function updateSubmission(tx: Tx, id: string, submission: MediaSubmission): Promise<void> {
  await tx.update(media).set({ submission, submittedAt: sql`now()` }).where(eq(media.id, id));
}

/**
 * Whether `row`'s analysis is still what the person last submitted for `method`: no later submission of the method
 * (with or without media) replaced it. Read inside the transaction holding the consultation's lock.
 */
export async function isLatestSubmission(tx: Tx, row: MediaRow, method: Method): Promise<boolean> {
  const submittedAt = row.submittedAt ?? new Date(0);
  const [laterResult] = await tx
    .select({ at: methodResults.submittedAt })
    .from(methodResults)
    .where(and(eq(methodResults.consultationId, row.consultationId), eq(methodResults.method, method), gt(methodResults.submittedAt, submittedAt)));
  if (laterResult) return false;
  const [laterMedia] = await tx
    .select({ id: media.id })
    .from(media)
    .where(and(eq(media.consultationId, row.consultationId), eq(media.kind, row.kind), gt(media.submittedAt, submittedAt)));
  return !laterMedia;
}

/** Whether any media of the consultation is still being analysed (completion waits for it). */
export async function hasMediaAnalysing(tx: Tx, consultationId: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: media.id })
    .from(media)
    .where(and(eq(media.consultationId, consultationId), eq(media.status, 'ANALYSING')))
    .limit(1);
  return row !== undefined;
}

/** Kept originals submitted before `cutoff`, oldest first, at most `limit`. */
export async function selectOriginalsBefore(database: Database, cutoff: Date, limit: number): Promise<Array<{ id: string; originalKey: string }>> {
  const rows = await database.db
    .select({ id: media.id, originalKey: media.originalKey })
    .from(media)
    .where(and(isNotNull(media.originalKey), lt(media.submittedAt, cutoff)))
    .orderBy(media.submittedAt)
    .limit(limit);
  return rows.filter((row): row is { id: string; originalKey: string } => row.originalKey !== null);
}

export async function markOriginalsDeleted(database: Database, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await database.db.update(media).set({ originalKey: null, originalDeletedAt: sql`now()` }).where(inArray(media.id, [...ids]));
}

/** Uploads never submitted whose URL expired before `cutoff`, at most `limit`. */
export async function selectExpiredUploads(database: Database, cutoff: Date, limit: number): Promise<string[]> {
  const rows = await database.db
    .select({ id: media.id })
    .from(media)
    .where(and(eq(media.status, 'AWAITING_UPLOAD'), lt(media.uploadExpiresAt, cutoff)))
    .orderBy(media.uploadExpiresAt)
    .limit(limit);
  return rows.map((row) => row.id);
}

export async function markExpired(database: Database, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await database.db
    .update(media)
    .set({ status: 'EXPIRED' })
    .where(and(inArray(media.id, [...ids]), eq(media.status, 'AWAITING_UPLOAD')));
}

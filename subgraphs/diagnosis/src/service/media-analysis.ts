import { eq } from 'drizzle-orm';
import { saveMethodResult } from '../db/consultations.js';
import {
  isLatestSubmission,
  keepOriginal,
  markAnalysed,
  markExpired,
  markOriginalsDeleted,
  selectExpiredUploads,
  selectMedia,
  selectOriginalsBefore,
} from '../db/media.js';
import { consultations, type MediaRow } from '../db/schema.js';
import { MediaRefusal, type TongueAnalysis, type VoiceAnalysis } from '../media/contracts.js';
import { originalKey, uploadKey } from '../media/kinds.js';
import { refuse, type MediaDeps } from './media.js';
import { measuredInspection, measuredListening } from './media-results.js';

/**
 * The background half of the pipeline, run by the job engine: strip the
 * upload's metadata and keep the clean original, analyse it, and apply the
 * result to the consultation. Every step can run again: a worker that dies
 * mid-way leaves the job to be retried, which picks up from what was stored.
 */
export async function analyseMedia(deps: MediaDeps, mediaId: string, attempt: { retryCount: number; retryLimit: number }): Promise<void> {
  const row = await selectMedia(deps.database, mediaId);
  if (!row || row.status !== 'ANALYSING') return;
  const handler = deps.kinds[row.kind];
  try {
    const bytes = await keptOriginal(deps, row, handler.maxBytes);
    const analysis = await handler.analyse(bytes);
    await apply(deps, row, analysis);
  } catch (error) {
    if (error instanceof MediaRefusal) {
      // The content cannot be analysed (blurry, too dark, no voice…): final, the person retakes it.
      await refuse(deps, (await selectMedia(deps.database, mediaId)) ?? row, 'ANALYSING', error);
      return;
    }
    if (attempt.retryCount < attempt.retryLimit) throw error;
    deps.log.error({ err: error, mediaId }, 'media analysis failed on its last attempt');
    await refuse(deps, (await selectMedia(deps.database, mediaId)) ?? row, 'ANALYSING', {
      reason: 'ANALYSIS_FAILED',
      message: 'The analysis could not be completed: please upload the file again',
    });
  }
}

/** The stripped original: kept by an earlier attempt, or made now from the upload (which is then deleted). */
async function keptOriginal(deps: MediaDeps, row: MediaRow, maxBytes: number): Promise<Buffer> {
  if (row.originalKey) {
    const kept = await deps.store.read(row.originalKey, maxBytes * 2);
    if (kept) return kept;
  }
  const upload = await deps.store.read(uploadKey(row.id), maxBytes);
  if (!upload) throw new MediaRefusal('NOT_UPLOADED', 'The uploaded file is gone: please upload it again');
  const stripped = await deps.kinds[row.kind].strip(upload);
  const key = originalKey(row.id, stripped.contentType);
  await deps.store.write(key, stripped.bytes, stripped.contentType);
  await keepOriginal(deps.database, row.id, key, stripped.contentType, stripped.bytes.length);
  await deps.store.delete(uploadKey(row.id));
  return stripped.bytes;
}

/**
 * Stores the analysis and, when the consultation is still open and nothing was submitted for the method since,
 * the method's result from it: one transaction on the locked consultation, then subscribers are told.
 */
async function apply(deps: MediaDeps, row: MediaRow, analysis: TongueAnalysis | VoiceAnalysis): Promise<void> {
  const submission = row.submission;
  if (!submission) throw new Error(`media ${row.id} is ANALYSING without a submission`);
  const applied = await deps.database.db.transaction(async (tx) => {
    const [consultation] = await tx.select().from(consultations).where(eq(consultations.id, row.consultationId)).for('update');
    const analysed = await markAnalysed(tx, row.id, analysis);
    if (!analysed || !consultation) return false;
    if (consultation.status !== 'OPEN' || !(await isLatestSubmission(tx, analysed, submission.method))) return true;
    const result =
      submission.method === 'INSPECTION'
        ? measuredInspection(analysis as TongueAnalysis, submission, row.id)
        : measuredListening(analysis as VoiceAnalysis, submission, row.id);
    await saveMethodResult(tx, consultation.id, submission.method, { mediaId: row.id, submission }, result);
    return true;
  });
  if (applied) await deps.events.publishById(row.consultationId);
}

/** How long after its URL expired an uploaded file may still be submitted. */
export const SUBMIT_GRACE_MS = 3_600_000;

/**
 * Retention: originals submitted more than `retentionDays` ago are deleted (the analysis stays), and uploads never
 * submitted lose their bytes an hour after their URL expired. In batches, each object deleted before its row says so.
 */
export async function enforceRetention(
  deps: Pick<MediaDeps, 'database' | 'store' | 'log'>,
  retentionDays: number,
  now = new Date(),
  batch = 200,
): Promise<{ originalsDeleted: number; uploadsExpired: number }> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  let originalsDeleted = 0;
  for (;;) {
    const due = await selectOriginalsBefore(deps.database, cutoff, batch);
    for (const item of due) await deps.store.delete(item.originalKey);
    await markOriginalsDeleted(deps.database, due.map((item) => item.id));
    originalsDeleted += due.length;
    if (due.length < batch) break;
  }
  let uploadsExpired = 0;
  for (;;) {
    const expired = await selectExpiredUploads(deps.database, new Date(now.getTime() - SUBMIT_GRACE_MS), batch);
    for (const id of expired) await deps.store.delete(uploadKey(id));
    await markExpired(deps.database, expired);
    uploadsExpired += expired.length;
    if (expired.length < batch) break;
  }
  if (originalsDeleted + uploadsExpired > 0) deps.log.info({ originalsDeleted, uploadsExpired, retentionDays }, 'media retention applied');
  return { originalsDeleted, uploadsExpired };
}

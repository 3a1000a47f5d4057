import { randomUUID } from 'node:crypto';
import { badInput, conflict, isUuid, notFound, refusedInput, type AuditCollector, type Database, type JobEngine, type Logger } from '@suoke/platform';
import { saveMethodResult, withOpenConsultation } from '../db/consultations.js';
import { insertMedia, markFailed, markSubmitted, selectMedia, updateSubmission } from '../db/media.js';
import type { ConsultationRow, MediaRow, MediaSubmission } from '../db/schema.js';
import { MediaRefusal, type CheckedMedia, type MediaKind, type MediaStore, type PresignedRequest, type TongueAnalysis, type VoiceAnalysis } from '../media/contracts.js';
import { canonicalType, uploadKey, type MediaKinds } from '../media/kinds.js';
import type { ConsultationEvents } from './consultation-events.js';
import { measuredInspection, measuredListening } from './media-results.js';

/** The queue of analyses (one job per submitted photo or recording). */
export const ANALYSIS_QUEUE = 'media-analysis';

export interface MediaDeps {
  database: Database;
  store: MediaStore;
  jobs: JobEngine;
  kinds: MediaKinds;
  events: ConsultationEvents;
  log: Logger;
  uploadTtlSeconds: number;
  downloadTtlSeconds: number;
}

const KIND_WORDS: Record<MediaKind, string> = { TONGUE_PHOTO: 'a tongue photo', VOICE_RECORDING: 'a voice recording' };
const MiB = 1024 * 1024;

/**
 * A presigned upload for the caller's open consultation. The declared type and
 * size are a first check only (storage refuses more bytes than declared where it
 * can); the bytes themselves are checked at submit.
 */
export async function createMediaUpload(
  deps: MediaDeps,
  userId: string,
  input: { consultationId: string; kind: MediaKind; contentType: string; byteSize: number },
): Promise<{ uploadId: string } & PresignedRequest> {
  const handler = deps.kinds[input.kind];
  // Signed and stored under its canonical name (`audio/x-wav` is `audio/wav`), which the client is told to send.
  const contentType = canonicalType(input.contentType);
  if (!handler.contentTypes.includes(contentType)) {
    throw badInput(`${input.kind} accepts ${handler.contentTypes.join(', ')}; received ${JSON.stringify(input.contentType)}`, 'input.contentType');
  }
  if (!Number.isInteger(input.byteSize) || input.byteSize < 1 || input.byteSize > handler.maxBytes) {
    throw badInput(`byteSize must be from 1 to ${handler.maxBytes} bytes (${handler.maxBytes / MiB} MiB) for ${KIND_WORDS[input.kind]}`, 'input.byteSize');
  }
  const uploadId = randomUUID();
  const request = await deps.store.presignUpload(uploadKey(uploadId), {
    contentType,
    byteSize: input.byteSize,
    expiresInSeconds: deps.uploadTtlSeconds,
  });
  await withOpenConsultation(deps.database, userId, input.consultationId, 'createMediaUpload', async (tx, consultation) => {
    await insertMedia(tx, {
      id: uploadId,
      userId,
      consultationId: consultation.id,
      kind: input.kind,
      declaredType: contentType,
      declaredBytes: input.byteSize,
      uploadExpiresAt: request.expiresAt,
    });
  });
  // Subscribers see the new upload in the consultation's media (AWAITING_UPLOAD).
  await deps.events.publishById(input.consultationId);
  return { uploadId, ...request };
}

/**
 * Submits an upload for analysis: the checks that need only the bytes' header
 * (type, size, pixel count or length) run now, and a refusal deletes the bytes
 * and answers `BAD_USER_INPUT` with the reason; accepted media is ANALYSING and
 * its job is queued in the same transaction. Media already analysed is applied
 * again at once with the new choices (a correction). The caller announces the
 * consultation returned.
 */
export async function submitMedia(
  deps: MediaDeps,
  userId: string,
  target: { consultationId: string; uploadId: string; kind: MediaKind; field: string; action: 'submitInspection' | 'submitListening' },
  submission: MediaSubmission,
): Promise<ConsultationRow> {
  const row = await ownUpload(deps.database, userId, target);
  const handler = deps.kinds[target.kind];
  if (row.kind !== target.kind) throw refusedInput(`Upload ${row.id} is not ${KIND_WORDS[target.kind]}`, 'WRONG_KIND', target.field);
  if (row.status === 'ANALYSING') throw conflict(`Upload ${row.id} is already submitted and being analysed`, 'MEDIA_ANALYSING');
  if (row.status === 'FAILED') throw refusedInput(row.failureMessage ?? 'This upload was refused', row.failureReason ?? 'REFUSED', target.field);
  if (row.status === 'EXPIRED') throw refusedInput('This upload expired before it was submitted: create a new upload', 'EXPIRED', target.field);
  if (row.status === 'ANALYSED') return correct(deps, userId, row, submission, target.action);

  const checked = await checkUpload(deps, row, handler.maxBytes, target.field);
  const consultation = await withOpenConsultation(deps.database, userId, row.consultationId, target.action, async (tx, open) => {
    if (!(await markSubmitted(tx, row.id, checked, submission))) throw conflict(`Upload ${row.id} was submitted meanwhile`, 'MEDIA_ANALYSING');
    await deps.jobs.send(ANALYSIS_QUEUE, { mediaId: row.id }, { tx });
    return open;
  });
  deps.jobs.wake(ANALYSIS_QUEUE);
  return consultation;
}

/** The same NOT_FOUND for an unknown upload, another user's and one of another consultation. */
async function ownUpload(database: Database, userId: string, target: { consultationId: string; uploadId: string }): Promise<MediaRow> {
  const missing = () => notFound(`No upload with id ${JSON.stringify(target.uploadId)} was found for this consultation`);
  if (!isUuid(target.uploadId) || !isUuid(target.consultationId)) throw missing();
  const row = await selectMedia(database, target.uploadId.toLowerCase());
  if (!row || row.userId !== userId || row.consultationId !== target.consultationId.toLowerCase()) throw missing();
  return row;
}

/** Reads and checks the uploaded bytes; a refusal deletes them, records it, and answers BAD_USER_INPUT. */
async function checkUpload(deps: MediaDeps, row: MediaRow, maxBytes: number, field: string): Promise<CheckedMedia> {
  try {
    const bytes = await deps.store.read(uploadKey(row.id), maxBytes);
    if (!bytes) throw refusedInput('Nothing was uploaded yet: send the file to the upload URL first, then submit', 'NOT_UPLOADED', field);
    const checked = await deps.kinds[row.kind].check(bytes);
    if (canonicalType(checked.contentType) !== canonicalType(row.declaredType)) {
      throw new MediaRefusal('TYPE_MISMATCH', `The file is ${checked.contentType}, not ${row.declaredType} as declared when the upload was created`);
    }
    return checked;
  } catch (error) {
    if (!(error instanceof MediaRefusal)) throw error;
    await refuse(deps, row, 'AWAITING_UPLOAD', error);
    throw refusedInput(error.message, error.reason, field);
  }
}

/** Deletes the bytes of refused media and records why (nothing half-stored stays), then tells subscribers. */
export async function refuse(deps: Pick<MediaDeps, 'database' | 'store' | 'events'>, row: MediaRow, from: MediaRow['status'], refusal: { reason: string; message: string }): Promise<void> {
  await deps.store.delete(uploadKey(row.id));
  if (row.originalKey) await deps.store.delete(row.originalKey);
  if (await markFailed(deps.database, row.id, from, refusal)) await deps.events.publishById(row.consultationId);
}

/** A correction of analysed media: the stored analysis with the new choices, applied at once. */
function correct(deps: MediaDeps, userId: string, row: MediaRow, submission: MediaSubmission, action: string): Promise<ConsultationRow> {
  const analysis = row.analysis;
  if (!analysis) throw new Error(`analysed media ${row.id} has no analysis`);
  return withOpenConsultation(deps.database, userId, row.consultationId, action, async (tx, open) => {
    await updateSubmission(tx, row.id, submission);
    const result =
      submission.method === 'INSPECTION'
        ? measuredInspection(analysis as TongueAnalysis, submission, row.id)
        : measuredListening(analysis as VoiceAnalysis, submission, row.id);
    await saveMethodResult(tx, open.id, submission.method, { mediaId: row.id, submission }, result);
    return open;
  });
}

/**
 * A short-lived download URL of a kept original, for its owner or a holder of `health:read:any` (`canReadAny`); the
 * same NOT_FOUND for anyone else as for an unknown id. Every URL given is audited as a read; a refusal as denied.
 */
export async function mediaDownload(
  deps: MediaDeps,
  caller: { id: string; canReadAny: boolean },
  audit: Pick<AuditCollector, 'record' | 'deny'>,
  id: string,
): Promise<PresignedRequest & { contentType: string }> {
  const missing = () => notFound(`No media with id ${JSON.stringify(id)} was found`);
  if (!isUuid(id)) throw missing();
  const row = await selectMedia(deps.database, id.toLowerCase());
  if (!row) throw missing();
  if (row.userId !== caller.id.toLowerCase() && !caller.canReadAny) {
    audit.deny({ resource: 'Media', ids: [row.id], reason: 'NOT_OWNER' });
    throw missing();
  }
  if (!row.originalKey || !row.contentType) {
    const why = row.originalDeletedAt ? 'its original was deleted after the retention period (the analysis is kept)' : 'no original is kept for it';
    throw notFound(`Media ${row.id} cannot be downloaded: ${why}`, 'NOT_KEPT');
  }
  const request = await deps.store.presignDownload(row.originalKey, { expiresInSeconds: deps.downloadTtlSeconds, contentType: row.contentType });
  audit.record({ action: 'READ', resource: 'Media', ids: [row.id] });
  return { ...request, contentType: row.contentType };
}

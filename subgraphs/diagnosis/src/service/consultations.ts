import { conflict, type Database } from '@suoke/platform';
import {
  closeConsultation,
  insertConsultation,
  insertReport,
  loadMethodResults,
  saveMethodResult,
  withOpenConsultation,
} from '../db/consultations.js';
import { selectQuestions } from '../db/queries.js';
import { restartSaga, selectReport } from '../db/saga.js';
import type { ConsultationRow, ReportRow } from '../db/schema.js';
import { checkAgentId } from './agents.js';
import { hasMediaAnalysing } from '../db/media.js';
import type { Complexion } from './inspection.js';
import type { ListeningInput, VoiceVolume } from './listening.js';
import { submitMedia, type MediaDeps } from './media.js';
import { chosenInspection, chosenListening, completeTongue, type TongueChoices } from './media-results.js';
import { palpate, type PulseRecordingInput } from './palpation.js';
import { reportFromResults } from './report.js';
import type { ReportSaga } from './saga.js';
import { scoreInquiry, type AnswerInput } from './scoring.js';

/**
 * A consultation's life for its owner: open it, submit any of the four
 * methods while it is open (a method submitted again replaces its result),
 * then complete it into a report or cancel it. Input is validated (and
 * results computed) before the consultation is read; each change is one
 * transaction on the locked consultation.
 */

export function startConsultation(database: Database, userId: string, input: { agentId?: string | null } | null | undefined): Promise<ConsultationRow> {
  return insertConsultation(database, userId, checkAgentId(input?.agentId));
}

export async function submitInquiry(database: Database, userId: string, input: { consultationId: string; answers: readonly AnswerInput[] }): Promise<ConsultationRow> {
  const outcome = scoreInquiry(await selectQuestions(database), input.answers);
  const answers = input.answers.map(({ questionId, value }) => ({ questionId, value }));
  return withOpenConsultation(database, userId, input.consultationId, 'submitInquiry', async (tx, consultation) => {
    await saveMethodResult(tx, consultation.id, 'INQUIRY', { answers }, outcome);
    return consultation;
  });
}

/** 望 Inspection: chosen by the person, or from a tongue photo (analysed in the background) with their corrections. */
export function submitInspection(
  media: MediaDeps,
  userId: string,
  input: { consultationId: string; tongue?: TongueChoices | null; complexion?: Complexion | null; tonguePhotoUploadId?: string | null },
): Promise<ConsultationRow> {
  if (input.tonguePhotoUploadId) {
    const tongue = Object.fromEntries(Object.entries(input.tongue ?? {}).filter(([, value]) => value !== null && value !== undefined));
    return submitMedia(
      media,
      userId,
      { consultationId: input.consultationId, uploadId: input.tonguePhotoUploadId, kind: 'TONGUE_PHOTO', field: 'input.tonguePhotoUploadId', action: 'submitInspection' },
      { method: 'INSPECTION', tongue, complexion: input.complexion ?? null },
    );
  }
  const observation = completeTongue(input.tongue, input.complexion);
  const result = chosenInspection(observation);
  return withOpenConsultation(media.database, userId, input.consultationId, 'submitInspection', async (tx, consultation) => {
    await saveMethodResult(tx, consultation.id, 'INSPECTION', observation, result);
    return consultation;
  });
}

/** 闻 Listening: chosen by the person, or voice volume and breath from a recording (analysed in the background). */
export function submitListening(
  media: MediaDeps,
  userId: string,
  input: Omit<ListeningInput, 'frequentSighing' | 'voiceVolume' | 'breathless'> & {
    voiceVolume?: VoiceVolume | null;
    breathless?: boolean | null;
    frequentSighing?: boolean | null;
    voiceUploadId?: string | null;
    consultationId: string;
  },
): Promise<ConsultationRow> {
  const rest = { cough: input.cough, odour: input.odour, frequentSighing: input.frequentSighing ?? false };
  if (input.voiceUploadId) {
    const choices = {
      ...(input.voiceVolume ? { voiceVolume: input.voiceVolume } : {}),
      ...(input.breathless !== undefined && input.breathless !== null ? { breathless: input.breathless } : {}),
    };
    return submitMedia(
      media,
      userId,
      { consultationId: input.consultationId, uploadId: input.voiceUploadId, kind: 'VOICE_RECORDING', field: 'input.voiceUploadId', action: 'submitListening' },
      { method: 'LISTENING', choices, rest },
    );
  }
  const result = chosenListening({ ...rest, voiceVolume: input.voiceVolume ?? undefined, breathless: input.breathless ?? undefined });
  const { findings: _findings, sources: _sources, measures: _measures, recordingId: _recordingId, ...observation } = result;
  return withOpenConsultation(media.database, userId, input.consultationId, 'submitListening', async (tx, consultation) => {
    await saveMethodResult(tx, consultation.id, 'LISTENING', observation, result);
    return consultation;
  });
}

export function submitPulseRecording(database: Database, userId: string, input: PulseRecordingInput & { consultationId: string }): Promise<ConsultationRow> {
  const result = palpate(input);
  // The samples themselves are not kept: the measures are the record.
  const recording = { sampleRate: input.sampleRate, sampleCount: input.samples.length, referenceAmplitude: input.referenceAmplitude ?? 1 };
  return withOpenConsultation(database, userId, input.consultationId, 'submitPulseRecording', async (tx, consultation) => {
    await saveMethodResult(tx, consultation.id, 'PALPATION', recording, result);
    return consultation;
  });
}

/**
 * Combines the results into a PENDING report with its follow-up saga and
 * completes the consultation, in one transaction; then drives the saga until
 * `waitMs` after the call began, so that the answer usually shows the report
 * PUBLISHED (or FAILED). A saga still running then goes on after the answer,
 * which shows the report PENDING; the client polls (or follows `reportUpdated`).
 * Once the transaction has committed nothing turns the answer into an error:
 * a saga that cannot even be claimed is left to the sweep.
 */
export async function completeConsultation(database: Database, saga: ReportSaga, waitMs: number, userId: string, id: string): Promise<ConsultationRow> {
  const deadline = Date.now() + waitMs;
  const { consultation, report } = await withOpenConsultation(database, userId, id, 'completeConsultation', async (tx, open) => {
    // A report without the photo or recording the person submitted would be silently incomplete.
    if (await hasMediaAnalysing(tx, open.id)) {
      throw conflict(`Consultation ${id} still has a photo or recording being analysed: complete it once the analysis is done`, 'MEDIA_ANALYSING');
    }
    const content = reportFromResults(await loadMethodResults(tx, open.id), open.id);
    const stored = await insertReport(tx, open, content);
    return { consultation: await closeConsultation(tx, open.id, 'COMPLETED'), report: stored };
  });
  await settle(saga.run(report.id), deadline);
  committedReports.set(consultation, report);
  return consultation;
}

/**
 * The report as the completion committed it (PENDING), by the consultation row
 * answered: what `Consultation.report` falls back on when re-reading it fails.
 */
export const committedReports = new WeakMap<ConsultationRow, ReportRow>();

/** A FAILED report of the caller's goes back to PENDING and its saga runs again (waiting as `completeConsultation` does). */
export async function retryReport(database: Database, saga: ReportSaga, waitMs: number, userId: string, reportId: string): Promise<ReportRow> {
  const deadline = Date.now() + waitMs;
  const report = await restartSaga(database, userId, reportId);
  // FAILED → PENDING has committed: announced before the run can announce the next change.
  await saga.announce(report);
  await settle(saga.run(report.id), deadline);
  // The restart committed: a failed re-read answers with the report as restarted (PENDING), not an error.
  return (await selectReport(database, report.id).catch(() => undefined)) ?? report;
}

/** Waits for the run until `deadline` (epoch ms); never rejects, whatever the run does. */
function settle(run: Promise<void>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
  return Promise.race([run.catch(() => undefined), waited]).finally(() => clearTimeout(timer));
}

export function cancelConsultation(database: Database, userId: string, id: string): Promise<ConsultationRow> {
  return withOpenConsultation(database, userId, id, 'cancelConsultation', (tx, consultation) => closeConsultation(tx, consultation.id, 'CANCELLED'));
}

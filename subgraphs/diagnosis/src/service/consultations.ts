import type { Database } from '@suoke/platform';
import {
  closeConsultation,
  insertConsultation,
  insertReport,
  loadMethodResults,
  saveMethodResult,
  withOpenConsultation,
} from '../db/consultations.js';
import { selectQuestions } from '../db/queries.js';
import type { ConsultationRow } from '../db/schema.js';
import { checkAgentId } from './agents.js';
import { inspect, type InspectionInput } from './inspection.js';
import { listen, type ListeningInput } from './listening.js';
import { palpate, type PulseRecordingInput } from './palpation.js';
import { reportFromResults } from './report.js';
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

export function submitInspection(database: Database, userId: string, input: InspectionInput & { consultationId: string }): Promise<ConsultationRow> {
  const observation: InspectionInput = { tongue: { ...input.tongue }, complexion: input.complexion };
  const findings = inspect(observation);
  return withOpenConsultation(database, userId, input.consultationId, 'submitInspection', async (tx, consultation) => {
    await saveMethodResult(tx, consultation.id, 'INSPECTION', observation, { ...observation, findings });
    return consultation;
  });
}

export function submitListening(
  database: Database,
  userId: string,
  input: Omit<ListeningInput, 'frequentSighing'> & { frequentSighing?: boolean | null; consultationId: string },
): Promise<ConsultationRow> {
  const { consultationId, ...rest } = input;
  const observation: ListeningInput = {
    voiceVolume: rest.voiceVolume,
    breathless: rest.breathless,
    cough: rest.cough,
    odour: rest.odour,
    frequentSighing: rest.frequentSighing ?? false,
  };
  const findings = listen(observation);
  return withOpenConsultation(database, userId, consultationId, 'submitListening', async (tx, consultation) => {
    await saveMethodResult(tx, consultation.id, 'LISTENING', observation, { ...observation, findings });
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

/** Combines the results into a report and completes the consultation, in one transaction. */
export function completeConsultation(database: Database, userId: string, id: string): Promise<ConsultationRow> {
  return withOpenConsultation(database, userId, id, 'completeConsultation', async (tx, consultation) => {
    const content = reportFromResults(await loadMethodResults(tx, consultation.id), consultation.id);
    await insertReport(tx, consultation, content);
    return closeConsultation(tx, consultation.id, 'COMPLETED');
  });
}

export function cancelConsultation(database: Database, userId: string, id: string): Promise<ConsultationRow> {
  return withOpenConsultation(database, userId, id, 'cancelConsultation', (tx, consultation) => closeConsultation(tx, consultation.id, 'CANCELLED'));
}

import { badInput } from '@suoke/platform';
import type { TongueAnalysis, VoiceAnalysis } from '../media/contracts.js';
import type { FieldSourceData, InspectionData, ListeningData, MediaSubmission } from '../db/schema.js';
import { inspect, type Complexion, type InspectionInput, type TongueObservation } from './inspection.js';
import { listen, type ListeningInput } from './listening.js';

/**
 * How a method's result is made from what the person chose and what a photo or
 * recording measured: a chosen value wins (a correction), a measured one fills
 * the rest, and each field records where it came from.
 */

const MEASURED_TONGUE = ['bodyColour', 'coatingColour', 'coatingThickness', 'moisture'] as const;
const UNMEASURED_TONGUE = ['teethMarks', 'cracks', 'swollen'] as const;
const TONGUE_FIELDS = [...MEASURED_TONGUE, ...UNMEASURED_TONGUE] as const;

/** Tongue fields as a client sends them: any may be absent or null. */
export type TongueChoices = { [K in keyof TongueObservation]?: TongueObservation[K] | null };

const chosen = (field: string): FieldSourceData => ({ field, source: 'CHOSEN', confidence: null });

/** The tongue as given: every field is needed without a photo (BAD_USER_INPUT naming the first missing). */
export function completeTongue(tongue: TongueChoices | null | undefined, complexion: Complexion | null | undefined): InspectionInput {
  if (!tongue) throw badInput('tongue is required without a tongue photo (tonguePhotoUploadId)', 'input.tongue');
  for (const field of TONGUE_FIELDS) {
    if (tongue[field] === undefined || tongue[field] === null) {
      throw badInput(`tongue.${field} is required without a tongue photo (tonguePhotoUploadId)`, `input.tongue.${field}`);
    }
  }
  if (!complexion) throw badInput('complexion is required without a tongue photo (tonguePhotoUploadId)', 'input.complexion');
  return { tongue: { ...(tongue as TongueObservation) }, complexion };
}

/** An inspection chosen entirely by the person. */
export function chosenInspection(observation: InspectionInput): InspectionData {
  return {
    ...observation,
    findings: inspect(observation),
    sources: [...TONGUE_FIELDS, 'complexion'].map(chosen),
    measured: null,
    photoId: null,
  };
}

/** An inspection from a photo's analysis and the person's corrections. */
export function measuredInspection(analysis: TongueAnalysis, submission: Extract<MediaSubmission, { method: 'INSPECTION' }>, photoId: string): InspectionData {
  const choices = submission.tongue;
  const sources: FieldSourceData[] = [];
  // Each field in the order of MEASURED_TONGUE then UNMEASURED_TONGUE, its source recorded as it is read.
  const measured = <V>(field: (typeof MEASURED_TONGUE)[number], choice: V | null | undefined, estimate: { value: V; confidence: number }): V => {
    sources.push(choice === undefined || choice === null ? { field, source: 'MEASURED', confidence: estimate.confidence } : chosen(field));
    return choice ?? estimate.value;
  };
  const unmeasured = (field: (typeof UNMEASURED_TONGUE)[number]): boolean => {
    const choice = choices[field];
    sources.push(choice === undefined || choice === null ? { field, source: 'NOT_ASSESSED', confidence: null } : chosen(field));
    return choice ?? false;
  };
  const tongue: TongueObservation = {
    bodyColour: measured('bodyColour', choices.bodyColour, analysis.bodyColour),
    coatingColour: measured('coatingColour', choices.coatingColour, analysis.coatingColour),
    coatingThickness: measured('coatingThickness', choices.coatingThickness, analysis.coatingThickness),
    moisture: measured('moisture', choices.moisture, analysis.moisture),
    teethMarks: unmeasured('teethMarks'),
    cracks: unmeasured('cracks'),
    swollen: unmeasured('swollen'),
  };
  sources.push(submission.complexion ? chosen('complexion') : { field: 'complexion', source: 'NOT_ASSESSED', confidence: null });
  const observation: InspectionInput = { tongue, complexion: submission.complexion };
  return { ...observation, findings: inspect(observation), sources, measured: analysis, photoId };
}

/** A listening chosen entirely by the person (voice volume and breath required without a recording). */
export function chosenListening(input: Omit<ListeningInput, 'voiceVolume' | 'breathless'> & Partial<Pick<ListeningInput, 'voiceVolume' | 'breathless'>>): ListeningData {
  if (!input.voiceVolume) throw badInput('voiceVolume is required without a voice recording (voiceUploadId)', 'input.voiceVolume');
  if (input.breathless === undefined || input.breathless === null) {
    throw badInput('breathless is required without a voice recording (voiceUploadId)', 'input.breathless');
  }
  const observation: ListeningInput = { ...input, voiceVolume: input.voiceVolume, breathless: input.breathless };
  return {
    ...observation,
    findings: listen(observation),
    sources: ['voiceVolume', 'breathless', 'cough', 'odour', 'frequentSighing'].map(chosen),
    measures: null,
    recordingId: null,
  };
}

/** A listening from a recording's analysis and the person's choices. */
export function measuredListening(analysis: VoiceAnalysis, submission: Extract<MediaSubmission, { method: 'LISTENING' }>, recordingId: string): ListeningData {
  const { choices, rest } = submission;
  const pick = <K extends 'voiceVolume' | 'breathless'>(field: K): [ListeningInput[K], FieldSourceData] => {
    const choice = choices[field];
    if (choice !== undefined && choice !== null) return [choice as ListeningInput[K], chosen(field)];
    const estimate = analysis[field];
    return [estimate.value as ListeningInput[K], { field, source: 'MEASURED', confidence: estimate.confidence }];
  };
  const [voiceVolume, volumeSource] = pick('voiceVolume');
  const [breathless, breathSource] = pick('breathless');
  const observation: ListeningInput = { ...rest, voiceVolume, breathless };
  return {
    ...observation,
    findings: listen(observation),
    sources: [volumeSource, breathSource, ...['cough', 'odour', 'frequentSighing'].map(chosen)],
    measures: analysis,
    recordingId,
  };
}

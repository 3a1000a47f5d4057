import type { FieldSourceData } from '../db/schema.js';
import type { InspectionResultResolvers, ListeningResultResolvers, MediaResolvers, TongueMeasurementResolvers, VoiceMeasuresResolvers } from '../generated/resolvers.js';

/** The measures and estimates of a photo or recording, and where each field of a result came from (issue 21). */

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const roundOrNull = (value: number | null, digits: number) => (value === null ? null : round(value, digits));

/** A result stored before issue 21 was chosen field by field. */
const allChosen = (fields: readonly string[]): FieldSourceData[] => fields.map((field) => ({ field, source: 'CHOSEN', confidence: null }));
const INSPECTION_FIELDS = ['bodyColour', 'coatingColour', 'coatingThickness', 'moisture', 'teethMarks', 'cracks', 'swollen', 'complexion'];
const LISTENING_FIELDS = ['voiceVolume', 'breathless', 'cough', 'odour', 'frequentSighing'];

export const inspectionResultResolvers: InspectionResultResolvers = {
  complexion: (result) => result.complexion ?? null,
  sources: (result) => result.sources ?? allChosen(INSPECTION_FIELDS),
  measured: (result) => result.measured ?? null,
  photo: (result, _args, ctx) => (result.photoId ? ctx.loaders.mediaById.load(result.photoId) : null),
};

export const listeningResultResolvers: ListeningResultResolvers = {
  sources: (result) => result.sources ?? allChosen(LISTENING_FIELDS),
  measures: (result) => result.measures ?? null,
  recording: (result, _args, ctx) => (result.recordingId ? ctx.loaders.mediaById.load(result.recordingId) : null),
};

export const fieldSourceResolvers = {
  confidence: (source: FieldSourceData) => roundOrNull(source.confidence, 3),
};

export const tongueMeasurementResolvers: TongueMeasurementResolvers = {
  bodyColour: (analysis) => analysis.bodyColour.value,
  bodyColourConfidence: (analysis) => round(analysis.bodyColour.confidence, 3),
  coatingColour: (analysis) => analysis.coatingColour.value,
  coatingColourConfidence: (analysis) => round(analysis.coatingColour.confidence, 3),
  coatingThickness: (analysis) => analysis.coatingThickness.value,
  coatingThicknessConfidence: (analysis) => round(analysis.coatingThickness.confidence, 3),
  moisture: (analysis) => analysis.moisture.value,
  moistureConfidence: (analysis) => round(analysis.moisture.confidence, 3),
  tongueAreaFraction: (analysis) => round(analysis.measures.tongueAreaFraction, 4),
  coatedFraction: (analysis) => round(analysis.measures.coatedFraction, 4),
  specularFraction: (analysis) => round(analysis.measures.specularFraction, 4),
  sharpness: (analysis) => round(analysis.measures.sharpness, 2),
  meanLuminance: (analysis) => round(analysis.measures.meanLuminance, 2),
  bodyLightness: (analysis) => round(analysis.measures.bodyLab.l, 2),
  bodyHueDegrees: (analysis) => round(analysis.measures.bodyHueDegrees, 2),
  bodyChroma: (analysis) => round(analysis.measures.bodyChroma, 2),
};

export const voiceMeasuresResolvers: VoiceMeasuresResolvers = {
  durationSeconds: (analysis) => round(analysis.measures.durationSeconds, 3),
  sampleRate: (analysis) => analysis.measures.sampleRate,
  rmsDbfs: (analysis) => round(analysis.measures.rmsDbfs, 2),
  f0Hz: (analysis) => roundOrNull(analysis.measures.f0Hz, 2),
  jitterPercent: (analysis) => roundOrNull(analysis.measures.jitterPercent, 3),
  shimmerPercent: (analysis) => roundOrNull(analysis.measures.shimmerPercent, 3),
  hnrDb: (analysis) => roundOrNull(analysis.measures.hnrDb, 2),
  voicedFraction: (analysis) => round(analysis.measures.voicedFraction, 3),
  voiceVolume: (analysis) => analysis.voiceVolume.value,
  voiceVolumeConfidence: (analysis) => round(analysis.voiceVolume.confidence, 3),
  breathless: (analysis) => analysis.breathless.value,
  breathlessConfidence: (analysis) => round(analysis.breathless.confidence, 3),
};

export const mediaResolvers: MediaResolvers = {
  failure: (row) =>
    row.status === 'FAILED' && row.failureReason
      ? {
          // Refusals of the file or its content are the person's to fix; a failed analysis is ours.
          code: row.failureReason === 'ANALYSIS_FAILED' ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT',
          reason: row.failureReason,
          message: row.failureMessage ?? row.failureReason,
        }
      : null,
  originalKept: (row) => row.originalKey !== null,
  durationSeconds: (row) => roundOrNull(row.durationSeconds, 3),
};

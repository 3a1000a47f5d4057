/**
 * From measures to the report's `voiceVolume` and `breathless`, each with a confidence from the margin to
 * its thresholds: 0.5 at a threshold, rising linearly to 1 at one "scale" away.
 *
 * Levels are RMS of the voiced frames in dBFS, full scale = 1.0 (a full-scale sine is −3 dBFS). A phone held
 * at a normal distance records conversational speech around −30 to −18 dBFS.
 */
import type { Estimate, VoiceAnalysis, VoiceVolumeValue } from '../contracts.js';

/** Voiced RMS below this is LOW (a weak, low voice: 声低). */
export const VOLUME_LOW_BELOW_DBFS = -32;
/** Voiced RMS above this is LOUD (a strong, loud voice: 声高). */
export const VOLUME_LOUD_ABOVE_DBFS = -16;
const VOLUME_SCALE_DB = 6;
/**
 * Breathless (气短/气喘): the voice keeps breaking off for breath (less than half of the frames voiced), or it is
 * breathy (harmonics-to-noise ratio below 12 dB; a healthy sustained vowel is near 20 dB). Shimmer is not used:
 * it rises with roughness as much as with breathiness.
 */
export const BREATHLESS_VOICED_FRACTION_BELOW = 0.5;
export const BREATHLESS_HNR_BELOW_DB = 12;
const VOICED_FRACTION_SCALE = 0.25;
const HNR_SCALE_DB = 6;

const confidence = (margin: number, scale: number): number => Math.min(1, 0.5 + (0.5 * Math.abs(margin)) / scale);

export function classifyVolume(rmsDbfs: number): Estimate<VoiceVolumeValue> {
  const toLow = rmsDbfs - VOLUME_LOW_BELOW_DBFS;
  const toLoud = rmsDbfs - VOLUME_LOUD_ABOVE_DBFS;
  if (toLow < 0) return { value: 'LOW', confidence: confidence(toLow, VOLUME_SCALE_DB) };
  if (toLoud > 0) return { value: 'LOUD', confidence: confidence(toLoud, VOLUME_SCALE_DB) };
  return { value: 'NORMAL', confidence: confidence(Math.min(toLow, -toLoud), VOLUME_SCALE_DB) };
}

export function classifyBreathless(measures: Pick<VoiceAnalysis['measures'], 'voicedFraction' | 'hnrDb'>): Estimate<boolean> {
  // Positive margin = on the breathless side of that criterion.
  const margins = [
    { margin: BREATHLESS_VOICED_FRACTION_BELOW - measures.voicedFraction, scale: VOICED_FRACTION_SCALE },
    ...(measures.hnrDb === null ? [] : [{ margin: BREATHLESS_HNR_BELOW_DB - measures.hnrDb, scale: HNR_SCALE_DB }]),
  ].map(({ margin, scale }) => margin / scale);
  const worst = Math.max(...margins);
  // Breathless when any criterion fires (sure as its strongest one); steady only when none does (as its weakest).
  return { value: worst > 0, confidence: confidence(worst, 1) };
}

import { bandPass, detrend, runningMax } from './filters.js';

/**
 * 切 Palpation: beat detection and pulse measures from a sampled pulse
 * waveform (PPG or pressure). Pure numeric code, no I/O.
 *
 * Pipeline:
 * 1. Remove the least-squares line (offset and slow drift) (filters.ts).
 * 2. Band-pass 0.5–8 Hz: second-order Butterworth high- and low-pass biquads,
 *    run forward and backward (zero phase, so peaks stay where they are), on a
 *    signal extended by odd reflection to absorb the filters' start-up.
 * 3. Beats: local maxima above an adaptive threshold (30% of the running
 *    maximum over 1.6 s), at least a refractory period (250 ms) apart, the
 *    higher of two closer candidates winning; then the lower of any two beats
 *    closer than half the median interval is dropped (a dicrotic wave or a
 *    spike, not a beat).
 * 4. Inter-beat intervals → rate (60 / mean interval), RMSSD, coefficient of
 *    variation, and the share of intervals far from the median.
 * 5. Signal quality: the beats are averaged into a template; the ratio of the
 *    template's power to the beats' deviation from it is the signal-to-noise
 *    ratio. Noise has no repeating shape, so its ratio is low.
 * Problems are returned as a `PulseProblem` (flat, too noisy, no plausible rate)
 * rather than thrown, so callers decide how to report them.
 */

export const PEAKS = {
  /** Window of the running maximum the threshold follows, in seconds. */
  envelopeSeconds: 1.6,
  /** A peak must reach this fraction of the running maximum. */
  thresholdFraction: 0.3,
  /** Minimum time between beats, in seconds (240 bpm). */
  refractorySeconds: 0.25,
  /** A beat closer to its neighbour than this fraction of the median interval is not a beat. */
  minIntervalFraction: 0.5,
} as const;

export const PLAUSIBLE_BPM = { min: 30, max: 220 } as const;

export const QUALITY = {
  /** Fewer beats than this cannot give a rate or a rhythm. */
  minBeats: 8,
  /** Template-to-residual power ratio below which a recording is too noisy. */
  minSnr: 2,
  /** A signal whose range (or whose distance from a straight line) is below this fraction of its magnitude is flat. */
  flatRange: 1e-9,
} as const;

export interface PulseMeasures {
  rateBpm: number;
  beatCount: number;
  durationSeconds: number;
  meanIntervalMs: number;
  /** Root mean square of successive interval differences, ms. */
  rmssdMs: number;
  /** Standard deviation / mean of the intervals. */
  intervalCv: number;
  /** Share of intervals more than 20% away from the median interval. */
  ectopicFraction: number;
  /** Median peak-to-trough amplitude of the band-passed beats, in sample units. */
  amplitude: number;
  /** Template-to-residual power ratio of the beats. */
  snr: number;
  /** Peak positions (sample indices), for inspection and tests. */
  peaks: number[];
}

export type PulseProblem =
  | { kind: 'FLAT'; reason: string }
  | { kind: 'NO_PULSE'; reason: string }
  | { kind: 'NOISY'; reason: string };

export type PulseResult = { ok: true; measures: PulseMeasures } | { ok: false; problem: PulseProblem };

/**
 * Beat positions: local maxima of the band-passed waveform over an adaptive
 * threshold (a fraction of its running maximum), at least a refractory period
 * apart (of two candidates closer than that the higher wins). Then any beat
 * closer to its neighbour than a fraction of the median interval is dropped if
 * it is the lower of the two: a dicrotic wave or a noise spike, not a beat.
 */
export function detectPeaks(x: Float64Array, sampleRate: number): number[] {
  const envelope = runningMax(x, Math.round(PEAKS.envelopeSeconds * sampleRate));
  const refractory = Math.round(PEAKS.refractorySeconds * sampleRate);
  const peaks: number[] = [];
  for (let i = 1; i < x.length - 1; i += 1) {
    const v = x[i]!;
    if (v <= 0 || v < PEAKS.thresholdFraction * envelope[i]! || v <= x[i - 1]! || v < x[i + 1]!) continue;
    const last = peaks[peaks.length - 1];
    if (last !== undefined && i - last < refractory) {
      if (v > x[last]!) peaks[peaks.length - 1] = i;
      continue;
    }
    peaks.push(i);
  }
  return dropCloseBeats(x, peaks);
}

function dropCloseBeats(x: Float64Array, peaks: number[]): number[] {
  let kept = peaks;
  for (;;) {
    if (kept.length < 3) return kept;
    const intervals = kept.slice(1).map((p, i) => p - kept[i]!);
    const limit = PEAKS.minIntervalFraction * median(intervals);
    // The closest pair first, so that one bad beat never removes a good one.
    let closest = -1;
    intervals.forEach((interval, i) => {
      if (interval < limit && (closest < 0 || interval < intervals[closest]!)) closest = i;
    });
    if (closest < 0) return kept;
    const drop = x[kept[closest]!]! < x[kept[closest + 1]!]! ? closest : closest + 1;
    kept = kept.filter((_, i) => i !== drop);
  }
}

const mean = (values: ArrayLike<number>) => {
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum += values[i]!;
  return values.length === 0 ? 0 : sum / values.length;
};

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Template (ensemble average) power over the beats' residual power, on windows around each peak. */
export function beatSnr(x: Float64Array, peaks: readonly number[], medianInterval: number): number {
  const before = Math.round(0.3 * medianInterval);
  const after = Math.round(0.5 * medianInterval);
  const width = before + after + 1;
  const windows = peaks.filter((p) => p - before >= 0 && p + after < x.length);
  if (windows.length < 2) return 0;
  const template = new Float64Array(width);
  for (const p of windows) for (let k = 0; k < width; k += 1) template[k]! += x[p - before + k]! / windows.length;
  let residual = 0;
  for (const p of windows) for (let k = 0; k < width; k += 1) residual += (x[p - before + k]! - template[k]!) ** 2;
  residual /= windows.length * width;
  const signal = mean(template.map((v) => v * v));
  return residual === 0 ? Infinity : signal / residual;
}

/**
 * Measures a pulse recording. The caller has checked the sample rate and the
 * duration; this decides whether the waveform holds a usable pulse.
 */
export function analysePulse(samples: readonly number[], sampleRate: number): PulseResult {
  let min = Infinity;
  let max = -Infinity;
  for (const v of samples) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const scale = Math.max(1, Math.abs(min), Math.abs(max));
  if (max - min <= QUALITY.flatRange * scale) {
    return { ok: false, problem: { kind: 'FLAT', reason: `the signal is flat (every sample is ${min})` } };
  }
  let residualRange = 0;
  for (const v of detrend(samples)) residualRange = Math.max(residualRange, Math.abs(v));
  if (residualRange <= QUALITY.flatRange * scale) {
    return { ok: false, problem: { kind: 'FLAT', reason: 'the signal is flat apart from a steady drift' } };
  }
  const x = bandPass(samples, sampleRate);

  const peaks = detectPeaks(x, sampleRate);
  const durationSeconds = samples.length / sampleRate;
  if (peaks.length < QUALITY.minBeats) {
    return { ok: false, problem: { kind: 'NO_PULSE', reason: `only ${peaks.length} beats were found in ${round(durationSeconds, 1)} s; at least ${QUALITY.minBeats} are needed` } };
  }
  const intervals = peaks.slice(1).map((p, i) => (p - peaks[i]!) / sampleRate);
  const meanInterval = mean(intervals);
  const rateBpm = 60 / meanInterval;
  if (rateBpm < PLAUSIBLE_BPM.min || rateBpm > PLAUSIBLE_BPM.max) {
    return { ok: false, problem: { kind: 'NO_PULSE', reason: `the detected rate ${round(rateBpm, 1)} bpm is outside ${PLAUSIBLE_BPM.min}–${PLAUSIBLE_BPM.max} bpm` } };
  }
  const medianInterval = median(intervals);
  const snr = beatSnr(x, peaks, medianInterval * sampleRate);
  if (snr < QUALITY.minSnr) {
    return {
      ok: false,
      problem: { kind: 'NOISY', reason: `the beats have no consistent shape (signal-to-noise ratio ${round(snr, 2)}, at least ${QUALITY.minSnr} is needed)` },
    };
  }

  const sd = Math.sqrt(mean(intervals.map((v) => (v - meanInterval) ** 2)));
  const successive = intervals.slice(1).map((v, i) => (v - intervals[i]!) ** 2);
  // Foot: the lowest point since the previous beat; top: the highest point
  // shortly after the end of the upstroke.
  const after = Math.round(0.15 * sampleRate);
  const amplitudes = peaks.map((p, i) => {
    const from = i === 0 ? Math.max(0, p - Math.round(medianInterval * sampleRate)) : peaks[i - 1]!;
    let foot = Infinity;
    for (let k = from; k <= p; k += 1) foot = Math.min(foot, x[k]!);
    let top = -Infinity;
    for (let k = p; k <= Math.min(x.length - 1, p + after); k += 1) top = Math.max(top, x[k]!);
    return top - foot;
  });
  return {
    ok: true,
    measures: {
      rateBpm,
      beatCount: peaks.length,
      durationSeconds,
      meanIntervalMs: meanInterval * 1000,
      rmssdMs: Math.sqrt(mean(successive)) * 1000,
      intervalCv: sd / meanInterval,
      ectopicFraction: intervals.filter((v) => Math.abs(v - medianInterval) > 0.2 * medianInterval).length / intervals.length,
      amplitude: median(amplitudes),
      snr,
      peaks,
    },
  };
}

function round(value: number, decimals: number): number {
  return Number(value.toFixed(decimals));
}

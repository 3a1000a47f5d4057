/**
 * Frame-by-frame fundamental frequency (pitchfinder's YIN) and periodicity (Boersma's autocorrelation method,
 * which gives both the voicing decision and the harmonics-to-noise ratio).
 */
import { YIN } from 'pitchfinder';
import { rms, toDb } from './signal.js';

export const HOP_SECONDS = 0.01;
/** YIN's longest lag reaches this; its window (and cost, which grows as its square) is sized for it. */
export const F0_MIN_HZ = 65;
export const F0_MAX_HZ = 600;
/** Praat's default voicing threshold: the normalised autocorrelation at the period lag. */
export const VOICING_THRESHOLD = 0.45;
/** Frames quieter than this, or this far below the loudest frame, are not voice. */
const SILENCE_DBFS = -70;
const BELOW_LOUDEST_DB = 40;

export interface Frame {
  /** Centre of the frame, in samples of the analysed signal. */
  centre: number;
  rmsDbfs: number;
  /** null when unvoiced. */
  f0Hz: number | null;
  /** Normalised autocorrelation at the period lag (0–1); 0 when unvoiced. */
  periodicity: number;
}

/**
 * pitchfinder's YIN looks for lags up to half of the largest power of two below its input's length, so each
 * window is sized to reach the longest period (F0_MIN_HZ) and is that power of two plus one sample.
 */
function windowLength(sampleRate: number): number {
  let half = 1;
  while (half < sampleRate / F0_MIN_HZ) half *= 2;
  return 2 * half + 1;
}

/** Boersma's method wants ≥ 4.5 periods in a Hann window: 60 ms covers 75 Hz. */
const HNR_WINDOW_SECONDS = 0.06;

export function analyseFrames(samples: Float32Array, sampleRate: number): Frame[] {
  const hop = Math.round(HOP_SECONDS * sampleRate);
  const length = windowLength(sampleRate);
  const hnrLength = Math.max(length, 2 * Math.round((HNR_WINDOW_SECONDS * sampleRate) / 2) + 1);
  // A permissive YIN threshold keeps noisy voice (SNR ≈ 6 dB) tracked; the autocorrelation test decides voicing.
  const yin = YIN({ sampleRate, threshold: 0.3, probabilityThreshold: 0.1 });
  const hann = new Float32Array(hnrLength).map((_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (hnrLength - 1)));
  const hannAutocorrelation = autocorrelation(hann, hnrLength);
  const frames: Frame[] = [];
  for (let centre = Math.floor(hnrLength / 2); centre + hnrLength / 2 <= samples.length; centre += hop) {
    const from = centre - Math.floor(length / 2);
    // Loudness uses the centre 40 ms, the hop's own neighbourhood, not the long pitch window.
    const half = Math.round(0.02 * sampleRate);
    frames.push({ centre, rmsDbfs: toDb(rms(samples, centre - half, centre + half)), f0Hz: null, periodicity: 0 });
    const frame = frames[frames.length - 1]!;
    if (frame.rmsDbfs < SILENCE_DBFS) continue;
    const window = samples.subarray(from, from + length);
    // pitchfinder's YIN replaces d(1) by 1 in its cumulative-mean normalisation, which makes it depend on the
    // signal's scale (a quiet low voice reads as an octave-high artefact); unit RMS restores the paper's YIN.
    const gain = 1 / Math.max(rms(window, 0, window.length), 1e-9);
    const f0 = yin(window.map((v) => v * gain));
    if (f0 === null || !Number.isFinite(f0) || f0 < F0_MIN_HZ || f0 > F0_MAX_HZ) continue;
    const hnrFrom = centre - Math.floor(hnrLength / 2);
    frame.periodicity = periodicityAt(samples.subarray(hnrFrom, hnrFrom + hnrLength), hann, hannAutocorrelation, sampleRate / f0);
    frame.f0Hz = f0;
  }
  const loudest = Math.max(-Infinity, ...frames.map((f) => f.rmsDbfs));
  for (const frame of frames) {
    if (frame.periodicity < VOICING_THRESHOLD || frame.rmsDbfs < loudest - BELOW_LOUDEST_DB) {
      frame.f0Hz = null;
      frame.periodicity = 0;
    }
  }
  return frames;
}

function autocorrelation(x: Float32Array, lags: number): Float64Array {
  const out = new Float64Array(lags);
  for (let lag = 0; lag < lags; lag++) {
    let sum = 0;
    for (let i = 0; i + lag < x.length; i++) sum += x[i]! * x[i + lag]!;
    out[lag] = sum;
  }
  return out;
}

/**
 * Boersma (1993): the autocorrelation of the Hann-windowed, mean-removed frame, normalised by its value at lag
 * 0 and divided by the window's own normalised autocorrelation, at its maximum near the YIN period
 * (parabolic interpolation between lags).
 */
function periodicityAt(window: Float32Array, hann: Float32Array, hannAc: Float64Array, period: number): number {
  let mean = 0;
  for (let i = 0; i < window.length; i++) mean += window[i]!;
  mean /= window.length;
  const x = new Float32Array(window.length);
  for (let i = 0; i < x.length; i++) x[i] = (window[i]! - mean) * hann[i]!;
  let energy = 0;
  for (let i = 0; i < x.length; i++) energy += x[i]! * x[i]!;
  if (energy === 0) return 0;
  const lo = Math.max(2, Math.floor(period * 0.8));
  const hi = Math.min(x.length - 2, Math.ceil(period * 1.2));
  const r = (lag: number): number => {
    let sum = 0;
    for (let i = 0; i + lag < x.length; i++) sum += x[i]! * x[i + lag]!;
    return sum / energy / (hannAc[lag]! / hannAc[0]!);
  };
  let best = lo;
  let bestValue = -Infinity;
  const values = new Map<number, number>();
  for (let lag = lo - 1; lag <= hi + 1; lag++) values.set(lag, r(lag));
  for (let lag = lo; lag <= hi; lag++) {
    if (values.get(lag)! > bestValue) {
      bestValue = values.get(lag)!;
      best = lag;
    }
  }
  const a = values.get(best - 1)!;
  const c = values.get(best + 1)!;
  const denominator = a - 2 * bestValue + c;
  const peak = denominator < 0 ? bestValue - ((a - c) * (a - c)) / (8 * denominator) : bestValue;
  return Math.max(0, Math.min(peak, 1));
}

/** HNR in dB from a periodicity r: 10·log10(r / (1 − r)), kept finite for a perfectly periodic frame. */
export function hnrDb(periodicity: number): number {
  const r = Math.min(Math.max(periodicity, 1e-6), 1 - 1e-6);
  return 10 * Math.log10(r / (1 - r));
}

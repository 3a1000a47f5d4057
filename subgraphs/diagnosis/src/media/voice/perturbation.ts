/**
 * Local jitter and shimmer from cycle-to-cycle period marks. Within each run of voiced frames the marks are
 * waveform peaks: the first is the largest peak in the first period, each next one the largest peak in
 * 0.75–1.25 of the local period (from the f0 track) after the previous one, refined by parabolic
 * interpolation. As in Praat, a pair of periods differing by more than a factor 1.3 is a mis-pick, not jitter.
 */
import type { Frame } from './pitch.js';

const PERIOD_FACTOR = 1.3;

export interface Perturbation {
  jitterPercent: number | null;
  shimmerPercent: number | null;
}

interface Mark {
  at: number;
  amplitude: number;
}

/** Runs of consecutive voiced frames as [first, last] frame indices. */
function voicedRuns(frames: Frame[]): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  frames.forEach((frame, i) => {
    if (frame.f0Hz !== null && start < 0) start = i;
    if (frame.f0Hz === null && start >= 0) {
      runs.push([start, i - 1]);
      start = -1;
    }
  });
  if (start >= 0) runs.push([start, frames.length - 1]);
  return runs;
}

function peakIn(x: Float32Array, from: number, to: number, sign: number): Mark {
  let best = from;
  for (let i = from + 1; i < to; i++) if (sign * x[i]! > sign * x[best]!) best = i;
  const a = sign * (x[best - 1] ?? x[best]!);
  const b = sign * x[best]!;
  const c = sign * (x[best + 1] ?? x[best]!);
  const denominator = a - 2 * b + c;
  if (denominator >= 0) return { at: best, amplitude: b };
  const offset = (0.5 * (a - c)) / denominator;
  return { at: best + offset, amplitude: b - 0.25 * (a - c) * offset };
}

function marksOfRun(x: Float32Array, frames: Frame[], first: number, last: number, hop: number, sampleRate: number): Mark[] {
  const start = Math.max(1, Math.round(frames[first]!.centre - hop / 2));
  const end = Math.min(x.length - 1, Math.round(frames[last]!.centre + hop / 2));
  const periodAt = (at: number): number => {
    const index = Math.min(last, Math.max(first, first + Math.round((at - frames[first]!.centre) / hop)));
    return sampleRate / (frames[index]!.f0Hz ?? frames[first]!.f0Hz!);
  };
  // Mark the polarity with the larger peaks: glottal pulses are asymmetric.
  let maxPositive = 0;
  let maxNegative = 0;
  for (let i = start; i < end; i++) {
    if (x[i]! > maxPositive) maxPositive = x[i]!;
    if (-x[i]! > maxNegative) maxNegative = -x[i]!;
  }
  const sign = maxPositive >= maxNegative ? 1 : -1;
  const marks: Mark[] = [];
  let mark = peakIn(x, start, Math.min(end, start + Math.ceil(periodAt(start))), sign);
  while (true) {
    marks.push(mark);
    const period = periodAt(mark.at);
    const from = Math.round(mark.at + 0.75 * period);
    const to = Math.round(mark.at + 1.25 * period);
    if (to >= end) break;
    mark = peakIn(x, from, to, sign);
  }
  return marks;
}

/** Mean absolute difference of consecutive values over their mean, percent, over all runs. */
function localPerturbation(runs: number[][]): number | null {
  let differences = 0;
  let pairs = 0;
  let total = 0;
  let count = 0;
  for (const values of runs) {
    for (let i = 0; i < values.length; i++) {
      total += values[i]!;
      count++;
      if (i > 0) {
        const ratio = values[i]! / values[i - 1]!;
        if (ratio > PERIOD_FACTOR || ratio < 1 / PERIOD_FACTOR) continue;
        differences += Math.abs(values[i]! - values[i - 1]!);
        pairs++;
      }
    }
  }
  return pairs === 0 || total <= 0 ? null : (100 * (differences / pairs)) / (total / count);
}

export function perturbation(x: Float32Array, frames: Frame[], sampleRate: number, hop: number): Perturbation {
  const periods: number[][] = [];
  const amplitudes: number[][] = [];
  for (const [first, last] of voicedRuns(frames)) {
    const marks = marksOfRun(x, frames, first, last, hop, sampleRate);
    if (marks.length < 3) continue;
    periods.push(marks.slice(1).map((m, i) => m.at - marks[i]!.at));
    amplitudes.push(marks.map((m) => m.amplitude));
  }
  return { jitterPercent: localPerturbation(periods), shimmerPercent: localPerturbation(amplitudes) };
}

/**
 * Signal conditioning for pulse waveforms: detrending, zero-phase Butterworth
 * band-pass and a running maximum. Pure numeric code, no I/O.
 */

export const FILTER = {
  /** High-pass corner: removes baseline wander and respiration below ~30 breaths/min. */
  highPassHz: 0.5,
  /** Low-pass corner: keeps the pulse's harmonics, removes tremor and high-frequency sensor noise. */
  lowPassHz: 8,
  /** Reflected padding on each side, in seconds, for the filters to settle. */
  padSeconds: 2,
} as const;

/** Removes the least-squares line a + b·i. */
export function detrend(samples: readonly number[]): Float64Array {
  const n = samples.length;
  const meanI = (n - 1) / 2;
  let meanY = 0;
  for (const y of samples) meanY += y;
  meanY /= n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += (i - meanI) * (samples[i]! - meanY);
    den += (i - meanI) ** 2;
  }
  const slope = den === 0 ? 0 : num / den;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 1) out[i] = samples[i]! - meanY - slope * (i - meanI);
  return out;
}

interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/** Second-order Butterworth section (bilinear transform, Q = 1/√2), normalised so a0 = 1. */
export function butterworth(kind: 'lowpass' | 'highpass', cornerHz: number, sampleRate: number): Biquad {
  const w0 = (2 * Math.PI * cornerHz) / sampleRate;
  const cos = Math.cos(w0);
  const alpha = Math.sin(w0) / (2 * Math.SQRT1_2);
  const a0 = 1 + alpha;
  const [b0, b1] = kind === 'lowpass' ? [(1 - cos) / 2, 1 - cos] : [(1 + cos) / 2, -(1 + cos)];
  return { b0: b0 / a0, b1: b1 / a0, b2: b0 / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0 };
}

function applyBiquad(f: Biquad, x: Float64Array): Float64Array {
  const y = new Float64Array(x.length);
  // Start from the steady state for the first value so a step is not injected.
  let x1 = x[0] ?? 0;
  let x2 = x1;
  const dc = (f.b0 + f.b1 + f.b2) / (1 + f.a1 + f.a2);
  let y1 = x1 * dc;
  let y2 = y1;
  for (let i = 0; i < x.length; i += 1) {
    const x0 = x[i]!;
    const y0 = f.b0 * x0 + f.b1 * x1 + f.b2 * x2 - f.a1 * y1 - f.a2 * y2;
    y[i] = y0;
    x2 = x1;
    x1 = x0;
    y2 = y1;
    y1 = y0;
  }
  return y;
}

/** Runs the sections forward, then backward over the result: zero phase, squared magnitude response. */
export function filtfilt(sections: readonly Biquad[], x: Float64Array, pad: number): Float64Array {
  const n = x.length;
  const p = Math.max(0, Math.min(pad, n - 1));
  // Odd reflection about the end points keeps value and slope continuous.
  const extended = new Float64Array(n + 2 * p);
  for (let i = 0; i < p; i += 1) extended[i] = 2 * x[0]! - x[p - i]!;
  extended.set(x, p);
  for (let i = 0; i < p; i += 1) extended[p + n + i] = 2 * x[n - 1]! - x[n - 2 - i]!;
  let y: Float64Array = extended;
  for (const section of sections) y = applyBiquad(section, y);
  y.reverse();
  for (const section of sections) y = applyBiquad(section, y);
  y.reverse();
  return y.slice(p, p + n);
}

/** Detrended and band-passed 0.5–8 Hz (the low-pass corner is kept below Nyquist). */
export function bandPass(samples: readonly number[], sampleRate: number): Float64Array {
  const lowPass = Math.min(FILTER.lowPassHz, sampleRate * 0.4);
  const sections = [butterworth('highpass', FILTER.highPassHz, sampleRate), butterworth('lowpass', lowPass, sampleRate)];
  return filtfilt(sections, detrend(samples), Math.round(FILTER.padSeconds * sampleRate));
}

/** Maximum over a centred window of `width` samples, O(n) with a monotonic deque. */
export function runningMax(x: Float64Array, width: number): Float64Array {
  const half = Math.floor(width / 2);
  const out = new Float64Array(x.length);
  const deque: number[] = [];
  let head = 0;
  let next = 0;
  for (let i = 0; i < x.length; i += 1) {
    const right = Math.min(x.length - 1, i + half);
    while (next <= right) {
      while (deque.length > head && x[deque[deque.length - 1]!]! <= x[next]!) deque.pop();
      deque.push(next);
      next += 1;
    }
    while (deque[head]! < i - half) head += 1;
    out[i] = x[deque[head]!]!;
  }
  return out;
}

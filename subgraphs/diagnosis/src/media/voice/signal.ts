/** Signal plumbing for the analysis: mono mix-down and decimation to a pitch-analysis rate. */

/** The mean of the channels. */
export function mixToMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]!;
  const out = new Float32Array(channels[0]!.length);
  for (const channel of channels) for (let i = 0; i < out.length; i++) out[i]! += channel[i]! / channels.length;
  return out;
}

/**
 * Pitch analysis needs no more than ~16 kHz, and YIN costs the square of its window, so high rates are
 * decimated by an integer factor first (48 kHz → 16 kHz, 44.1 kHz → 22.05 kHz). The anti-alias low-pass is a
 * Blackman-windowed sinc evaluated only at the kept samples; hand-written because it is a dozen lines and no
 * maintained npm resampler is both pure JS and synchronous.
 */
export function decimate(samples: Float32Array, sampleRate: number): { samples: Float32Array; sampleRate: number } {
  const factor = Math.max(1, Math.floor(sampleRate / 16_000));
  if (factor === 1) return { samples, sampleRate };
  const half = 8 * factor;
  const cutoff = 0.45 / factor; // cycles per input sample, below the new Nyquist (0.5 / factor)
  const taps = new Float32Array(2 * half + 1);
  let sum = 0;
  for (let k = -half; k <= half; k++) {
    const sinc = k === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * k) / (Math.PI * k);
    const w = 0.42 + 0.5 * Math.cos((Math.PI * k) / half) + 0.08 * Math.cos((2 * Math.PI * k) / half);
    taps[k + half] = sinc * w;
    sum += sinc * w;
  }
  for (let k = 0; k < taps.length; k++) taps[k]! /= sum;
  const out = new Float32Array(Math.floor(samples.length / factor));
  for (let j = 0; j < out.length; j++) {
    const centre = j * factor;
    let acc = 0;
    const from = Math.max(-half, -centre);
    const to = Math.min(half, samples.length - 1 - centre);
    for (let k = from; k <= to; k++) acc += samples[centre + k]! * taps[k + half]!;
    out[j] = acc;
  }
  return { samples: out, sampleRate: sampleRate / factor };
}

/** RMS of samples[from, to). */
export function rms(samples: Float32Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

export const toDb = (level: number): number => 20 * Math.log10(Math.max(level, 1e-10));

/**
 * Synthetic PPG-like pulse waveforms with known beat times, for the dev seed
 * and tests. Each beat is a systolic wave (a Gaussian) followed by a smaller
 * dicrotic wave; baseline wander (breathing) and white noise are optional.
 * Deterministic for a given `seed`.
 */
export interface SyntheticPulseOptions {
  sampleRate: number;
  seconds: number;
  /** Constant rate; ignored when `intervals` is given. */
  bpm?: number;
  /** Inter-beat intervals in seconds, repeated cyclically until `seconds` is filled. */
  intervals?: readonly number[];
  /** Peak-to-trough amplitude of a beat, in sample units. Default 1. */
  amplitude?: number;
  /** Standard deviation of white noise, as a fraction of `amplitude`. Default 0. */
  noise?: number;
  /** Amplitude of a 0.25 Hz baseline wander, as a fraction of `amplitude`. Default 0. */
  wander?: number;
  /** Constant offset added to every sample (a PPG's DC level). Default 0. */
  offset?: number;
  seed?: number;
}

/** A deterministic PRNG (mulberry32) returning numbers in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviates from a uniform source (Box–Muller). */
export function gaussian(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function syntheticPulse(options: SyntheticPulseOptions): { samples: number[]; beatTimes: number[] } {
  const { sampleRate, seconds } = options;
  const amplitude = options.amplitude ?? 1;
  const intervals = options.intervals ?? [60 / (options.bpm ?? 72)];
  const beatTimes: number[] = [];
  for (let t = 0.3, k = 0; t < seconds; t += intervals[k % intervals.length]!, k += 1) beatTimes.push(t);
  const count = Math.round(seconds * sampleRate);
  const normal = gaussian(prng(options.seed ?? 1));
  const samples: number[] = new Array(count);
  const systolicWidth = 0.07;
  const dicroticWidth = 0.09;
  let beat = 0;
  for (let i = 0; i < count; i += 1) {
    const t = i / sampleRate;
    while (beat < beatTimes.length - 1 && beatTimes[beat + 1]! <= t - 0.6) beat += 1;
    let v = 0;
    // Only nearby beats contribute noticeably.
    for (let b = Math.max(0, beat - 1); b < Math.min(beatTimes.length, beat + 4); b += 1) {
      const t0 = beatTimes[b]!;
      const interval = intervals[b % intervals.length]!;
      const dicrotic = t0 + Math.min(0.3, 0.4 * interval);
      v += Math.exp(-0.5 * ((t - t0) / systolicWidth) ** 2) + 0.35 * Math.exp(-0.5 * ((t - dicrotic) / dicroticWidth) ** 2);
    }
    const wander = (options.wander ?? 0) * Math.sin(2 * Math.PI * 0.25 * t);
    samples[i] = (options.offset ?? 0) + amplitude * (v + wander + (options.noise ?? 0) * normal());
  }
  return { samples, beatTimes };
}

import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { checkRecording, palpate, pulseFindings, rateCategory, rhythmOf, strengthOf } from '../src/service/palpation.js';
import { bandPass, butterworth, filtfilt, runningMax } from '../src/service/filters.js';
import { analysePulse, detectPeaks } from '../src/service/pulse.js';
import { gaussian, prng, syntheticPulse } from '../src/service/synthetic-pulse.js';

function thrown(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    return error as GraphQLError;
  }
  throw new Error('expected an error');
}

function whiteNoise(count: number, seed: number): number[] {
  const normal = gaussian(prng(seed));
  return Array.from({ length: count }, () => normal());
}

/** Random inter-beat intervals, uniform in [low, high] seconds. */
function randomIntervals(count: number, low: number, high: number, seed: number): number[] {
  const uniform = prng(seed);
  return Array.from({ length: count }, () => low + (high - low) * uniform());
}

describe('filters', () => {
  it('Butterworth sections pass DC through the low-pass and block it in the high-pass', () => {
    const dcGain = (f: ReturnType<typeof butterworth>) => (f.b0 + f.b1 + f.b2) / (1 + f.a1 + f.a2);
    expect(dcGain(butterworth('lowpass', 8, 100))).toBeCloseTo(1, 12);
    expect(dcGain(butterworth('highpass', 0.5, 100))).toBeCloseTo(0, 12);
  });

  it('band-pass removes offset and slow drift but keeps a 1.2 Hz wave in phase', () => {
    const fs = 100;
    const wave = Array.from({ length: 2000 }, (_, i) => 500 + 0.05 * i + Math.sin((2 * Math.PI * 1.2 * i) / fs));
    const out = bandPass(wave, fs);
    const middle = Array.from(out.slice(500, 1500));
    expect(Math.abs(middle.reduce((a, b) => a + b, 0) / middle.length)).toBeLessThan(0.02);
    // Zero phase: the output peaks where the sine does (i = 20.83 + 83.3k samples).
    const peak = 500 + middle.indexOf(Math.max(...middle.slice(0, 84)));
    const offset = (peak - 20.83) % 83.33;
    expect(Math.min(offset, 83.33 - offset)).toBeLessThan(2);
    // Filtering forward and backward squares the magnitude response: ~0.96² at 1.2 Hz, clearly not attenuated.
    expect(Math.max(...middle)).toBeGreaterThan(0.85);
  });

  it('filtfilt leaves a signal shorter than the padding intact in length', () => {
    const out = filtfilt([butterworth('lowpass', 5, 50)], Float64Array.from([1, 2, 3]), 100);
    expect(out).toHaveLength(3);
  });

  it('runningMax takes the maximum over a centred window', () => {
    expect(Array.from(runningMax(Float64Array.from([1, 3, 2, 0, 0, 5, 1]), 3))).toEqual([3, 3, 3, 2, 5, 5, 5]);
  });
});

describe('beat detection', () => {
  it('finds each beat once, never the dicrotic wave', () => {
    const fs = 100;
    const { samples, beatTimes } = syntheticPulse({ sampleRate: fs, seconds: 20, bpm: 60, noise: 0.02, seed: 3 });
    const peaks = detectPeaks(bandPass(samples, fs), fs).map((p) => p / fs);
    expect(peaks).toHaveLength(beatTimes.length);
    peaks.forEach((t, i) => expect(Math.abs(t - beatTimes[i]!)).toBeLessThan(0.05));
  });
});

describe('analysePulse', () => {
  it.each([
    [50, 1],
    [100, 2],
    [250, 3],
    [500, 4],
  ])('measures 72 bpm with noise and baseline wander within 2 bpm at %i Hz', (sampleRate, seed) => {
    const { samples } = syntheticPulse({ sampleRate, seconds: 30, bpm: 72, noise: 0.15, wander: 0.5, offset: 2048, seed });
    const result = analysePulse(samples, sampleRate);
    if (!result.ok) throw new Error(result.problem.reason);
    expect(Math.abs(result.measures.rateBpm - 72)).toBeLessThan(2);
    expect(rhythmOf(result.measures)).toBe('REGULAR');
  });

  it.each([
    [50, 'SLOW'],
    [110, 'RAPID'],
    [75, 'NORMAL'],
  ])('classifies %i bpm as %s', (bpm, category) => {
    const { samples } = syntheticPulse({ sampleRate: 100, seconds: 20, bpm, noise: 0.1, wander: 0.3, seed: bpm });
    const result = analysePulse(samples, 100);
    if (!result.ok) throw new Error(result.problem.reason);
    expect(Math.abs(result.measures.rateBpm - bpm)).toBeLessThan(2);
    expect(rateCategory(result.measures.rateBpm)).toBe(category);
  });

  it('flags an irregular rhythm of random intervals, but not breathing-related variation', () => {
    const irregular = syntheticPulse({ sampleRate: 100, seconds: 40, intervals: randomIntervals(80, 0.5, 1.2, 11), noise: 0.05, seed: 5 });
    const measured = analysePulse(irregular.samples, 100);
    if (!measured.ok) throw new Error(measured.problem.reason);
    expect(rhythmOf(measured.measures)).toBe('IRREGULAR');
    expect(measured.measures.intervalCv).toBeGreaterThan(0.12);
    expect(measured.measures.rmssdMs).toBeGreaterThan(100);

    // Sinus arrhythmia: intervals swing ±5% with breathing.
    const sinus = syntheticPulse({ sampleRate: 100, seconds: 40, intervals: Array.from({ length: 48 }, (_, k) => 0.83 * (1 + 0.05 * Math.sin(k / 2))), noise: 0.05, seed: 6 });
    const regular = analysePulse(sinus.samples, 100);
    if (!regular.ok) throw new Error(regular.problem.reason);
    expect(rhythmOf(regular.measures)).toBe('REGULAR');
  });

  it('measures amplitude in sample units, whatever the offset', () => {
    for (const amplitude of [0.3, 1, 2]) {
      const { samples } = syntheticPulse({ sampleRate: 100, seconds: 15, bpm: 70, amplitude, offset: 100, noise: 0.03, seed: 8 });
      const result = analysePulse(samples, 100);
      if (!result.ok) throw new Error(result.problem.reason);
      expect(result.measures.amplitude / amplitude).toBeGreaterThan(0.9);
      expect(result.measures.amplitude / amplitude).toBeLessThan(1.1);
    }
  });

  it('rejects a flat signal and a straight ramp as FLAT', () => {
    const flat = analysePulse(Array(1500).fill(812.5), 100);
    expect(flat).toEqual({ ok: false, problem: { kind: 'FLAT', reason: 'the signal is flat (every sample is 812.5)' } });
    const ramp = analysePulse(Array.from({ length: 1500 }, (_, i) => 3 + i * 0.01), 100);
    expect(ramp.ok ? undefined : ramp.problem.kind).toBe('FLAT');
  });

  it.each([
    [50, 1],
    [100, 2],
    [100, 3],
    [250, 4],
    [1000, 5],
  ])('rejects white noise at %i Hz (seed %i)', (sampleRate, seed) => {
    const result = analysePulse(whiteNoise(sampleRate * 20, seed), sampleRate);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(['NOISY', 'NO_PULSE']).toContain(result.problem.kind);
  });

  it('rejects a pulse buried in noise as NOISY with the ratio', () => {
    const { samples } = syntheticPulse({ sampleRate: 50, seconds: 20, bpm: 72, noise: 0.8, seed: 2 });
    const result = analysePulse(samples, 50);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem.reason).toMatch(/signal-to-noise ratio [\d.]+, at least 2 is needed/);
  });
});

describe('palpate', () => {
  it('classifies strength against the reference amplitude', () => {
    expect([0.49, 0.5, 1.5, 1.51].map(strengthOf)).toEqual(['WEAK', 'NORMAL', 'NORMAL', 'STRONG']);
    const { samples } = syntheticPulse({ sampleRate: 100, seconds: 15, bpm: 70, amplitude: 40, noise: 0.03, seed: 4 });
    expect(palpate({ sampleRate: 100, samples }).strength).toBe('STRONG');
    expect(palpate({ sampleRate: 100, samples, referenceAmplitude: 40 }).strength).toBe('NORMAL');
    expect(palpate({ sampleRate: 100, samples, referenceAmplitude: 100 }).strength).toBe('WEAK');
  });

  it('puts the rate boundaries at 60 and 90 bpm', () => {
    expect([59.9, 60, 90, 90.1].map(rateCategory)).toEqual(['SLOW', 'NORMAL', 'NORMAL', 'RAPID']);
    expect(rhythmOf({ intervalCv: 0.1199, ectopicFraction: 0.149 })).toBe('REGULAR');
    expect(rhythmOf({ intervalCv: 0.12, ectopicFraction: 0 })).toBe('IRREGULAR');
    expect(rhythmOf({ intervalCv: 0.05, ectopicFraction: 0.15 })).toBe('IRREGULAR');
  });

  it('turns the classification into findings', () => {
    expect(pulseFindings({ rateBpm: 72, rateCategory: 'NORMAL', rhythm: 'REGULAR', strength: 'NORMAL' })).toEqual([
      expect.objectContaining({ method: 'PALPATION', code: 'PULSE_NORMAL', constitutions: ['BALANCED'], syndromes: [] }),
    ]);
    const findings = pulseFindings({ rateBpm: 52.4, rateCategory: 'SLOW', rhythm: 'IRREGULAR', strength: 'WEAK' });
    expect(findings.map((f) => f.code)).toEqual(['PULSE_SLOW', 'PULSE_IRREGULAR', 'PULSE_WEAK']);
    expect(findings[0]!.description).toContain('52 次/分');
    expect(findings[0]!.constitutions).toEqual(['YANG_DEFICIENT']);
  });

  it.each([
    [{ sampleRate: 49.9, samples: Array(1000).fill(0) }, 'input.sampleRate', /sampleRate must be 50–1000 Hz; received 49.9/],
    [{ sampleRate: 1001, samples: Array(20000).fill(0) }, 'input.sampleRate', /received 1001/],
    [{ sampleRate: 50, samples: Array(499).fill(0) }, 'input.samples', /too short: at least 10 s \(500 samples at 50 Hz\) is needed; received 499 samples \(9\.98 s\)/],
    [{ sampleRate: 50, samples: Array(15_001).fill(0) }, 'input.samples', /too long: at most 60000 samples and 300 s; received 15001 samples/],
    [{ sampleRate: 1000, samples: Array(60_001).fill(0) }, 'input.samples', /received 60001 samples/],
    [{ sampleRate: 50, samples: Array(600).fill(0), referenceAmplitude: 0 }, 'input.referenceAmplitude', /positive number; received 0/],
  ])('refuses an unusable recording before analysing it (%#)', (input, field, message) => {
    const error = thrown(() => checkRecording(input));
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(error.message).toMatch(message);
  });

  it('reports a flat or noisy signal as BAD_USER_INPUT with the reason', () => {
    expect(thrown(() => palpate({ sampleRate: 50, samples: Array(600).fill(1) })).message).toBe(
      'the pulse recording cannot be used: the signal is flat (every sample is 1)',
    );
    const noisy = thrown(() => palpate({ sampleRate: 100, samples: whiteNoise(2000, 9) }));
    expect(noisy.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.samples' });
    expect(noisy.message).toMatch(/^the pulse recording cannot be used: /);
  });
});

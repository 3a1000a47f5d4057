import { describe, expect, it } from 'vitest';
import { MediaRefusal } from '../src/media/contracts.js';
import { analyseVoice } from '../src/media/voice/index.js';
import { fmtChunk, pcm16, prng, riff, voiceRecording, type VoiceSpec } from '../src/media/synthetic/voice.js';

const measure = async (spec: VoiceSpec) => (await analyseVoice(voiceRecording(spec))).measures;
const vowel = { seconds: 2, dbfs: -24, harmonics: true } as const;

describe('fundamental frequency', () => {
  const grid = [90, 110, 140, 180, 220, 300].flatMap((f0Hz) =>
    [8000, 16_000, 44_100, 48_000].map((sampleRate) => ({ f0Hz, sampleRate })),
  );
  it.each(grid)('is within 2 % of $f0Hz Hz at $sampleRate Hz (vowel with jitter and noise)', async ({ f0Hz, sampleRate }) => {
    const m = await measure({ ...vowel, f0Hz, sampleRate, jitterPercent: 0.5, shimmerPercent: 2, noiseLevel: 0.05, seconds: 1.5 });
    expect(Math.abs(m.f0Hz! / f0Hz - 1)).toBeLessThan(0.02);
    expect(m.durationSeconds).toBeCloseTo(1.5, 6);
    expect(m.sampleRate).toBe(sampleRate);
  });

  it('is within 2 % for pure tones too', async () => {
    for (const f0Hz of [90, 150, 300]) expect(Math.abs((await measure({ f0Hz, seconds: 1.5, dbfs: -24 })).f0Hz! / f0Hz - 1)).toBeLessThan(0.02);
  });
});

describe('perturbation', () => {
  it('jitter tracks the synthesised jitter (monotonic, roughly right)', async () => {
    const asked = [0.25, 0.5, 1, 2, 3];
    const measured: number[] = [];
    for (const jitterPercent of asked) measured.push((await measure({ ...vowel, f0Hz: 140, jitterPercent })).jitterPercent!);
    for (let i = 1; i < measured.length; i++) expect(measured[i]).toBeGreaterThan(measured[i - 1]!);
    asked.slice(0, 4).forEach((j, i) => expect(measured[i]! / j).toBeGreaterThan(0.7));
    asked.forEach((j, i) => expect(measured[i]! / j).toBeLessThan(1.3));
    expect((await measure({ ...vowel, f0Hz: 140 })).jitterPercent!).toBeLessThan(0.1);
  });

  it('shimmer tracks the synthesised shimmer (monotonic, roughly right)', async () => {
    const asked = [0.5, 1, 2, 4, 8];
    const measured: number[] = [];
    for (const shimmerPercent of asked) measured.push((await measure({ ...vowel, f0Hz: 200, shimmerPercent })).shimmerPercent!);
    for (let i = 1; i < measured.length; i++) expect(measured[i]).toBeGreaterThan(measured[i - 1]!);
    asked.forEach((s, i) => expect(Math.abs(measured[i]! / s - 1)).toBeLessThan(0.3));
  });
});

describe('harmonics-to-noise ratio', () => {
  it('falls strictly with added noise, near the SNR of the synthesis', async () => {
    const levels = [0.02, 0.05, 0.1, 0.2, 0.35, 0.5];
    const hnr: number[] = [];
    for (const noiseLevel of levels) hnr.push((await measure({ ...vowel, f0Hz: 160, noiseLevel })).hnrDb!);
    for (let i = 1; i < hnr.length; i++) expect(hnr[i]).toBeLessThan(hnr[i - 1]!);
    // White noise at amplitude ratio n over a periodic voice: HNR ≈ −20·log10(n).
    levels.forEach((n, i) => expect(hnr[i]).toBeCloseTo(-20 * Math.log10(n), -0.5));
  });
});

describe('voiced share, volume and breathless', () => {
  it('measures the voiced fraction close to the truth', async () => {
    for (const voicedFraction of [0.3, 0.5, 0.7, 0.9, 1]) {
      const m = await measure({ ...vowel, f0Hz: 130, seconds: 4, voicedFraction });
      expect(Math.abs(m.voicedFraction - voicedFraction)).toBeLessThan(0.05);
      expect(m.rmsDbfs).toBeCloseTo(-24, 0);
    }
  });

  it.each([
    { dbfs: -42, value: 'LOW' },
    { dbfs: -36, value: 'LOW' },
    { dbfs: -24, value: 'NORMAL' },
    { dbfs: -12, value: 'LOUD' },
  ])('classifies a voice at $dbfs dBFS as $value', async ({ dbfs, value }) => {
    const { voiceVolume, measures } = await analyseVoice(voiceRecording({ ...vowel, f0Hz: 150, dbfs }));
    expect(measures.rmsDbfs).toBeCloseTo(dbfs, 0);
    expect(voiceVolume.value).toBe(value);
    expect(voiceVolume.confidence).toBeGreaterThan(0.6);
  });

  it('lowers the confidence near a threshold', async () => {
    const near = (await analyseVoice(voiceRecording({ ...vowel, f0Hz: 150, dbfs: -31 }))).voiceVolume;
    expect(near.value).toBe('NORMAL');
    expect(near.confidence).toBeLessThan(0.6);
  });

  it('is breathless for a pausing voice and for a breathy one, not for a steady one', async () => {
    const steady = await analyseVoice(voiceRecording({ ...vowel, f0Hz: 150, seconds: 4, jitterPercent: 0.4, shimmerPercent: 2 }));
    const pausing = await analyseVoice(voiceRecording({ ...vowel, f0Hz: 150, seconds: 4, voicedFraction: 0.3 }));
    const breathy = await analyseVoice(voiceRecording({ ...vowel, f0Hz: 150, seconds: 4, noiseLevel: 0.45 }));
    expect(steady.breathless).toMatchObject({ value: false });
    expect(steady.breathless.confidence).toBeGreaterThan(0.8);
    expect(pausing.breathless.value).toBe(true);
    expect(pausing.breathless.confidence).toBeGreaterThan(0.8);
    expect(breathy.breathless.value).toBe(true);
    expect(breathy.measures.voicedFraction).toBeGreaterThan(0.9);
  });
});

describe('refusals of the content', () => {
  const reason = async (bytes: Buffer) => {
    const error = await analyseVoice(bytes).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MediaRefusal);
    expect((error as MediaRefusal).message.length).toBeGreaterThan(20);
    return (error as MediaRefusal).reason;
  };
  const wav = (samples: Float32Array) => riff([['fmt ', fmtChunk({ sampleRate: 16_000 })], ['data', pcm16(samples)]]);

  it('NO_VOICE for digital silence and for noise alone', async () => {
    expect(await reason(wav(new Float32Array(32_000)))).toBe('NO_VOICE');
    const random = prng(7);
    expect(await reason(wav(new Float32Array(32_000).map(() => 0.2 * (random() - 0.5))))).toBe('NO_VOICE');
  });

  it('TOO_QUIET for a voice far below a usable level', async () => {
    expect(await reason(voiceRecording({ ...vowel, f0Hz: 150, dbfs: -56 }))).toBe('TOO_QUIET');
  });

  it('CLIPPED for a voice recorded far too loud', async () => {
    expect(await reason(voiceRecording({ ...vowel, f0Hz: 150, dbfs: -3 }))).toBe('CLIPPED');
  });
});

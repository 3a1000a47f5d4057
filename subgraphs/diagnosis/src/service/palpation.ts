import { badInput } from '@suoke/platform';
import { withMethod, type Finding, type Sign } from './findings.js';
import { analysePulse, type PulseMeasures } from './pulse.js';

/**
 * 切 Palpation: checks a pulse recording, measures it (pulse.ts) and
 * classifies rate, rhythm and strength the way a practitioner names a pulse,
 * then turns the classification into findings.
 *
 * - Rate: SLOW (迟) below 60 bpm, RAPID (数) above 90 bpm, NORMAL otherwise.
 * - Rhythm: IRREGULAR when the intervals' coefficient of variation is at least
 *   0.12, or at least 15% of intervals are more than 20% away from the median
 *   (dropped or early beats, as in 结/代/促 pulses); REGULAR otherwise.
 * - Strength: the median beat amplitude relative to `referenceAmplitude` (the
 *   amplitude the device calls a normal pulse, 1 by default): WEAK (虚) below
 *   0.5, STRONG (实) above 1.5, NORMAL otherwise.
 */

export const RECORDING_LIMITS = {
  minSampleRate: 50,
  maxSampleRate: 1000,
  minSeconds: 10,
  maxSeconds: 300,
  maxSamples: 60_000,
} as const;

export const RATE_BPM = { slowBelow: 60, rapidAbove: 90 } as const;
export const RHYTHM = { maxRegularCv: 0.12, maxRegularEctopicFraction: 0.15 } as const;
export const STRENGTH = { weakBelow: 0.5, strongAbove: 1.5 } as const;

export type RateCategory = 'SLOW' | 'NORMAL' | 'RAPID';
export type Rhythm = 'REGULAR' | 'IRREGULAR';
export type Strength = 'WEAK' | 'NORMAL' | 'STRONG';

export interface PulseRecordingInput {
  sampleRate: number;
  samples: readonly number[];
  referenceAmplitude?: number | null;
}

/** What a palpation stores and serves. */
export interface PalpationResult {
  rateBpm: number;
  rateCategory: RateCategory;
  rhythm: Rhythm;
  strength: Strength;
  beatCount: number;
  durationSeconds: number;
  sampleRate: number;
  meanIntervalMs: number;
  rmssdMs: number;
  intervalCv: number;
  relativeAmplitude: number;
  signalToNoise: number;
  findings: Finding[];
}

export function rateCategory(bpm: number): RateCategory {
  if (bpm < RATE_BPM.slowBelow) return 'SLOW';
  if (bpm > RATE_BPM.rapidAbove) return 'RAPID';
  return 'NORMAL';
}

export function rhythmOf(measures: Pick<PulseMeasures, 'intervalCv' | 'ectopicFraction'>): Rhythm {
  return measures.intervalCv >= RHYTHM.maxRegularCv || measures.ectopicFraction >= RHYTHM.maxRegularEctopicFraction ? 'IRREGULAR' : 'REGULAR';
}

export function strengthOf(relativeAmplitude: number): Strength {
  if (relativeAmplitude < STRENGTH.weakBelow) return 'WEAK';
  if (relativeAmplitude > STRENGTH.strongAbove) return 'STRONG';
  return 'NORMAL';
}

/** Checks rate, duration and length before any computation; errors name the input field and the value received. */
export function checkRecording(input: PulseRecordingInput): void {
  const { sampleRate, samples } = input;
  const limits = RECORDING_LIMITS;
  if (!Number.isFinite(sampleRate) || sampleRate < limits.minSampleRate || sampleRate > limits.maxSampleRate) {
    throw badInput(`sampleRate must be ${limits.minSampleRate}–${limits.maxSampleRate} Hz; received ${sampleRate}`, 'input.sampleRate');
  }
  const seconds = samples.length / sampleRate;
  if (seconds < limits.minSeconds) {
    throw badInput(
      `the recording is too short: at least ${limits.minSeconds} s (${Math.ceil(limits.minSeconds * sampleRate)} samples at ${sampleRate} Hz) is needed; received ${samples.length} samples (${seconds.toFixed(2)} s)`,
      'input.samples',
    );
  }
  if (samples.length > limits.maxSamples || seconds > limits.maxSeconds) {
    throw badInput(
      `the recording is too long: at most ${limits.maxSamples} samples and ${limits.maxSeconds} s; received ${samples.length} samples (${seconds.toFixed(2)} s)`,
      'input.samples',
    );
  }
  const reference = input.referenceAmplitude;
  if (reference !== null && reference !== undefined && !(Number.isFinite(reference) && reference > 0)) {
    throw badInput(`referenceAmplitude must be a positive number; received ${reference}`, 'input.referenceAmplitude');
  }
}

const round = (value: number, decimals: number) => Number(value.toFixed(decimals));

/** Validates, measures and classifies a recording; an unusable signal is BAD_USER_INPUT with the reason. */
export function palpate(input: PulseRecordingInput): PalpationResult {
  checkRecording(input);
  const analysis = analysePulse(input.samples, input.sampleRate);
  if (!analysis.ok) throw badInput(`the pulse recording cannot be used: ${analysis.problem.reason}`, 'input.samples');
  const m = analysis.measures;
  const relativeAmplitude = m.amplitude / (input.referenceAmplitude ?? 1);
  const classified = {
    rateCategory: rateCategory(m.rateBpm),
    rhythm: rhythmOf(m),
    strength: strengthOf(relativeAmplitude),
  };
  return {
    rateBpm: round(m.rateBpm, 1),
    ...classified,
    beatCount: m.beatCount,
    durationSeconds: round(m.durationSeconds, 2),
    sampleRate: input.sampleRate,
    meanIntervalMs: round(m.meanIntervalMs, 1),
    rmssdMs: round(m.rmssdMs, 1),
    intervalCv: round(m.intervalCv, 4),
    relativeAmplitude: round(relativeAmplitude, 3),
    signalToNoise: round(m.snr, 2),
    findings: pulseFindings({ ...classified, rateBpm: m.rateBpm }),
  };
}

/** The findings of a classified pulse: one per abnormal quality, or a single normal-pulse finding. */
export function pulseFindings(pulse: { rateBpm: number; rateCategory: RateCategory; rhythm: Rhythm; strength: Strength }): Finding[] {
  const bpm = Math.round(pulse.rateBpm);
  const signs: Sign[] = [];
  if (pulse.rateCategory === 'SLOW') {
    signs.push({
      code: 'PULSE_SLOW',
      description: `迟脉（${bpm} 次/分）：阳气不足，寒凝`,
      descriptionEn: `Slow pulse (${bpm} bpm): insufficient yang, cold`,
      constitutions: ['YANG_DEFICIENT'],
      syndromes: ['KIDNEY_YANG_DEFICIENCY', 'SPLEEN_YANG_DEFICIENCY'],
    });
  } else if (pulse.rateCategory === 'RAPID') {
    signs.push({
      code: 'PULSE_RAPID',
      description: `数脉（${bpm} 次/分）：热证`,
      descriptionEn: `Rapid pulse (${bpm} bpm): heat`,
      constitutions: ['YIN_DEFICIENT', 'DAMP_HEAT'],
      syndromes: ['KIDNEY_YIN_DEFICIENCY', 'LIVER_FIRE_BLAZING'],
    });
  }
  if (pulse.rhythm === 'IRREGULAR') {
    signs.push({
      code: 'PULSE_IRREGULAR',
      description: '脉律不齐（结、代、促脉之类）：气血运行不畅或心气不足',
      descriptionEn: 'Irregular pulse (knotted, intermittent or hurried): impeded qi and blood, or weak heart qi',
      constitutions: ['BLOOD_STASIS', 'QI_DEFICIENT'],
      syndromes: ['HEART_BLOOD_STASIS', 'HEART_QI_DEFICIENCY'],
    });
  }
  if (pulse.strength === 'WEAK') {
    signs.push({
      code: 'PULSE_WEAK',
      description: '脉搏无力（虚脉）：气血不足',
      descriptionEn: 'Forceless pulse (deficient pulse): insufficient qi and blood',
      constitutions: ['QI_DEFICIENT', 'YANG_DEFICIENT'],
      syndromes: ['SPLEEN_QI_DEFICIENCY', 'HEART_QI_DEFICIENCY'],
    });
  } else if (pulse.strength === 'STRONG') {
    signs.push({
      code: 'PULSE_FORCEFUL',
      description: '脉搏有力（实脉）：邪气盛实',
      descriptionEn: 'Forceful pulse (excess pulse): a strong pathogenic factor',
      constitutions: ['DAMP_HEAT'],
      syndromes: ['LIVER_FIRE_BLAZING', 'SPLEEN_STOMACH_DAMP_HEAT'],
    });
  }
  if (signs.length === 0) {
    signs.push({
      code: 'PULSE_NORMAL',
      description: `平脉（${bpm} 次/分）：节律均匀、和缓有力`,
      descriptionEn: `Normal pulse (${bpm} bpm): even, calm and steady`,
      constitutions: ['BALANCED'],
      syndromes: [],
    });
  }
  return withMethod('PALPATION', signs);
}

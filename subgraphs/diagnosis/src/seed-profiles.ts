import type { ConstitutionCode } from './service/constitutions.js';
import type { InspectionInput } from './service/inspection.js';
import type { ListeningInput } from './service/listening.js';

/**
 * What a seeded user with a given constitution shows on inspection, listening
 * and palpation: textbook presentations, so seeded reports read plausibly.
 */
export interface SeedPresentation {
  inspection: InspectionInput;
  listening: ListeningInput;
  pulse: { bpm: number; amplitude: number; irregular?: boolean };
}

const tongue = (
  bodyColour: InspectionInput['tongue']['bodyColour'],
  coatingColour: InspectionInput['tongue']['coatingColour'],
  coatingThickness: InspectionInput['tongue']['coatingThickness'],
  moisture: InspectionInput['tongue']['moisture'],
  marks: Partial<Pick<InspectionInput['tongue'], 'teethMarks' | 'cracks' | 'swollen'>> = {},
): InspectionInput['tongue'] => ({ bodyColour, coatingColour, coatingThickness, moisture, teethMarks: false, cracks: false, swollen: false, ...marks });

const voice = (
  voiceVolume: ListeningInput['voiceVolume'],
  cough: ListeningInput['cough'] = 'NONE',
  odour: ListeningInput['odour'] = 'NONE',
  extra: Partial<Pick<ListeningInput, 'breathless' | 'frequentSighing'>> = {},
): ListeningInput => ({ voiceVolume, cough, odour, breathless: false, frequentSighing: false, ...extra });

export const PRESENTATIONS: Record<ConstitutionCode, SeedPresentation> = {
  BALANCED: {
    inspection: { tongue: tongue('LIGHT_RED', 'WHITE', 'THIN', 'NORMAL'), complexion: 'NORMAL' },
    listening: voice('NORMAL'),
    pulse: { bpm: 70, amplitude: 1 },
  },
  QI_DEFICIENT: {
    inspection: { tongue: tongue('PALE', 'WHITE', 'THIN', 'NORMAL', { teethMarks: true }), complexion: 'SALLOW' },
    listening: voice('LOW', 'WEAK', 'NONE', { breathless: true }),
    pulse: { bpm: 76, amplitude: 0.4 },
  },
  YANG_DEFICIENT: {
    inspection: { tongue: tongue('PALE', 'WHITE', 'THIN', 'WET', { swollen: true }), complexion: 'PALE' },
    listening: voice('LOW', 'NONE', 'FISHY'),
    pulse: { bpm: 54, amplitude: 0.6 },
  },
  YIN_DEFICIENT: {
    inspection: { tongue: tongue('RED', 'YELLOW', 'THIN', 'DRY', { cracks: true }), complexion: 'MALAR_FLUSH' },
    listening: voice('NORMAL', 'DRY'),
    pulse: { bpm: 96, amplitude: 0.9 },
  },
  PHLEGM_DAMP: {
    inspection: { tongue: tongue('LIGHT_RED', 'WHITE', 'THICK', 'NORMAL', { teethMarks: true, swollen: true }), complexion: 'GREASY' },
    listening: voice('NORMAL', 'PRODUCTIVE', 'SOUR'),
    pulse: { bpm: 72, amplitude: 1.1 },
  },
  DAMP_HEAT: {
    inspection: { tongue: tongue('RED', 'YELLOW', 'THICK', 'NORMAL'), complexion: 'GREASY' },
    listening: voice('LOUD', 'NONE', 'FOUL'),
    pulse: { bpm: 97, amplitude: 1.8 },
  },
  BLOOD_STASIS: {
    inspection: { tongue: tongue('PURPLE', 'WHITE', 'THIN', 'NORMAL'), complexion: 'DUSKY' },
    listening: voice('NORMAL'),
    pulse: { bpm: 68, amplitude: 1, irregular: true },
  },
  QI_STAGNATION: {
    inspection: { tongue: tongue('LIGHT_RED', 'WHITE', 'THIN', 'NORMAL'), complexion: 'BLUISH' },
    listening: voice('NORMAL', 'NONE', 'NONE', { frequentSighing: true }),
    pulse: { bpm: 78, amplitude: 1 },
  },
  INHERITED_SPECIAL: {
    inspection: { tongue: tongue('LIGHT_RED', 'WHITE', 'THIN', 'NORMAL'), complexion: 'NORMAL' },
    listening: voice('NORMAL', 'WHEEZING'),
    pulse: { bpm: 74, amplitude: 1 },
  },
};

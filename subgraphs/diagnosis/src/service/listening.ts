import { withMethod, type Finding, type Sign } from './findings.js';

/**
 * 闻 Listening and smelling: voice, breath, cough and odour → findings. As in
 * inspection, each rule is a table row with the classical reading of the sign;
 * a normal voice is a finding pointing to BALANCED.
 */

export type VoiceVolume = 'LOW' | 'NORMAL' | 'LOUD';
export type Cough = 'NONE' | 'WEAK' | 'DRY' | 'PRODUCTIVE' | 'WHEEZING';
export type Odour = 'NONE' | 'FOUL' | 'SOUR' | 'FISHY';

export interface ListeningInput {
  voiceVolume: VoiceVolume;
  breathless: boolean;
  cough: Cough;
  odour: Odour;
  frequentSighing: boolean;
}

export const VOICE_SIGNS: Record<VoiceVolume, Sign> = {
  LOW: {
    code: 'VOICE_LOW',
    description: '语声低微：气虚',
    descriptionEn: 'Low, weak voice: qi deficiency',
    constitutions: ['QI_DEFICIENT'],
    syndromes: ['LUNG_QI_DEFICIENCY', 'SPLEEN_QI_DEFICIENCY'],
  },
  NORMAL: {
    code: 'VOICE_NORMAL',
    description: '语声自然、清晰有力：正常',
    descriptionEn: 'Natural, clear voice: normal',
    constitutions: ['BALANCED'],
    syndromes: [],
  },
  LOUD: {
    code: 'VOICE_LOUD',
    description: '语声高亢：实热',
    descriptionEn: 'Loud, forceful voice: excess heat',
    constitutions: ['DAMP_HEAT'],
    syndromes: ['LIVER_FIRE_BLAZING'],
  },
};

export const BREATHLESS_SIGN: Sign = {
  code: 'BREATH_SHORT',
  description: '气短、少气：肺心气虚',
  descriptionEn: 'Shortness of breath: deficient lung and heart qi',
  constitutions: ['QI_DEFICIENT'],
  syndromes: ['LUNG_QI_DEFICIENCY', 'HEART_QI_DEFICIENCY'],
};

export const COUGH_SIGNS: Record<Exclude<Cough, 'NONE'>, Sign> = {
  WEAK: {
    code: 'COUGH_WEAK',
    description: '咳声低弱无力：肺气虚',
    descriptionEn: 'Weak, feeble cough: lung qi deficiency',
    constitutions: ['QI_DEFICIENT'],
    syndromes: ['LUNG_QI_DEFICIENCY'],
  },
  DRY: {
    code: 'COUGH_DRY',
    description: '干咳少痰：肺阴亏虚',
    descriptionEn: 'Dry cough with little phlegm: lung yin deficiency',
    constitutions: ['YIN_DEFICIENT'],
    syndromes: ['LUNG_YIN_DEFICIENCY'],
  },
  PRODUCTIVE: {
    code: 'COUGH_PRODUCTIVE',
    description: '咳嗽痰多：痰湿阻肺',
    descriptionEn: 'Cough with plenty of phlegm: phlegm-damp in the lung',
    constitutions: ['PHLEGM_DAMP'],
    syndromes: ['PHLEGM_DAMP_OBSTRUCTION', 'LUNG_PHLEGM_HEAT'],
  },
  WHEEZING: {
    code: 'COUGH_WHEEZING',
    description: '咳喘、喉间哮鸣：过敏体质，卫表不固',
    descriptionEn: 'Wheezing cough: allergic constitution, weak defences',
    constitutions: ['INHERITED_SPECIAL'],
    syndromes: ['DEFENSIVE_QI_INSECURITY'],
  },
};

export const ODOUR_SIGNS: Record<Exclude<Odour, 'NONE'>, Sign> = {
  FOUL: {
    code: 'ODOUR_FOUL',
    description: '口气臭秽：胃肠湿热',
    descriptionEn: 'Foul breath: damp-heat in stomach and intestines',
    constitutions: ['DAMP_HEAT'],
    syndromes: ['SPLEEN_STOMACH_DAMP_HEAT'],
  },
  SOUR: {
    code: 'ODOUR_SOUR',
    description: '口气酸腐：食积不化',
    descriptionEn: 'Sour breath: undigested food retained',
    constitutions: ['PHLEGM_DAMP'],
    syndromes: ['FOOD_STAGNATION'],
  },
  FISHY: {
    code: 'ODOUR_FISHY',
    description: '气味腥：虚寒',
    descriptionEn: 'Fishy odour: deficiency cold',
    constitutions: ['YANG_DEFICIENT'],
    syndromes: ['SPLEEN_YANG_DEFICIENCY'],
  },
};

export const SIGHING_SIGN: Sign = {
  code: 'FREQUENT_SIGHING',
  description: '善太息：肝气郁结',
  descriptionEn: 'Frequent sighing: constrained liver qi',
  constitutions: ['QI_STAGNATION'],
  syndromes: ['LIVER_QI_STAGNATION'],
};

/** The findings of one listening, in a fixed order: voice, breath, cough, odour, sighing. */
export function listen(input: ListeningInput): Finding[] {
  const signs: Sign[] = [VOICE_SIGNS[input.voiceVolume]];
  if (input.breathless) signs.push(BREATHLESS_SIGN);
  if (input.cough !== 'NONE') signs.push(COUGH_SIGNS[input.cough]);
  if (input.odour !== 'NONE') signs.push(ODOUR_SIGNS[input.odour]);
  if (input.frequentSighing) signs.push(SIGHING_SIGN);
  return withMethod('LISTENING', signs);
}

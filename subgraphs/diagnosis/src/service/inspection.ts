import { withMethod, type Finding, type Sign } from './findings.js';

/**
 * 望 Inspection: tongue (舌诊) and complexion (面诊) observations → findings.
 * Each rule is one row of a table below, stating the classical reading of the
 * sign: the constitutions it suggests and the syndromes it is a key sign of.
 * A normal sign (light-red tongue, thin white coating, a lustrous complexion)
 * is a finding too, pointing to BALANCED, so that synthesis can weigh normal
 * observations against a questionnaire.
 */

export type TongueBodyColour = 'PALE' | 'LIGHT_RED' | 'RED' | 'CRIMSON' | 'PURPLE';
export type CoatingColour = 'WHITE' | 'YELLOW' | 'GREY_BLACK';
export type CoatingThickness = 'THIN' | 'THICK';
export type Moisture = 'DRY' | 'NORMAL' | 'WET';
export type Complexion = 'NORMAL' | 'PALE' | 'SALLOW' | 'FLUSHED' | 'MALAR_FLUSH' | 'GREASY' | 'DUSKY' | 'BLUISH';

export interface TongueObservation {
  bodyColour: TongueBodyColour;
  coatingColour: CoatingColour;
  coatingThickness: CoatingThickness;
  moisture: Moisture;
  teethMarks: boolean;
  cracks: boolean;
  swollen: boolean;
}

export interface InspectionInput {
  tongue: TongueObservation;
  /** Null when a tongue photo was given without a complexion. */
  complexion: Complexion | null;
}

export const BODY_COLOUR_SIGNS: Record<TongueBodyColour, Sign> = {
  PALE: {
    code: 'TONGUE_PALE',
    description: '舌色淡白：气血不足或阳气虚弱',
    descriptionEn: 'Pale tongue: insufficient qi and blood, or weak yang',
    constitutions: ['QI_DEFICIENT', 'YANG_DEFICIENT'],
    syndromes: ['SPLEEN_QI_DEFICIENCY', 'HEART_BLOOD_DEFICIENCY'],
  },
  LIGHT_RED: {
    code: 'TONGUE_LIGHT_RED',
    description: '舌色淡红：正常舌色',
    descriptionEn: 'Light-red tongue: the normal colour',
    constitutions: ['BALANCED'],
    syndromes: [],
  },
  RED: {
    code: 'TONGUE_RED',
    description: '舌色红：主热证',
    descriptionEn: 'Red tongue: heat',
    constitutions: ['YIN_DEFICIENT', 'DAMP_HEAT'],
    syndromes: ['LIVER_FIRE_BLAZING'],
  },
  CRIMSON: {
    code: 'TONGUE_CRIMSON',
    description: '舌色绛：热盛或阴虚火旺',
    descriptionEn: 'Crimson tongue: intense heat, or fire from yin deficiency',
    constitutions: ['YIN_DEFICIENT'],
    syndromes: ['KIDNEY_YIN_DEFICIENCY'],
  },
  PURPLE: {
    code: 'TONGUE_PURPLE',
    description: '舌色紫暗：血行不畅',
    descriptionEn: 'Purple tongue: blood not flowing freely',
    constitutions: ['BLOOD_STASIS'],
    syndromes: ['HEART_BLOOD_STASIS', 'QI_STAGNATION_BLOOD_STASIS'],
  },
};

/** The coating by colour and thickness; grey-black depends on moisture (dry: heat, moist: cold). */
export function coatingSign(tongue: Pick<TongueObservation, 'coatingColour' | 'coatingThickness' | 'moisture'>): Sign {
  const { coatingColour, coatingThickness, moisture } = tongue;
  if (coatingColour === 'WHITE' && coatingThickness === 'THIN') {
    return { code: 'COATING_THIN_WHITE', description: '薄白苔：正常舌苔', descriptionEn: 'Thin white coating: normal', constitutions: ['BALANCED'], syndromes: [] };
  }
  if (coatingColour === 'WHITE') {
    return {
      code: 'COATING_THICK_WHITE',
      description: '白厚苔：痰湿内停',
      descriptionEn: 'Thick white coating: retained phlegm and damp',
      constitutions: ['PHLEGM_DAMP'],
      syndromes: ['PHLEGM_DAMP_OBSTRUCTION'],
    };
  }
  if (coatingColour === 'YELLOW' && coatingThickness === 'THIN') {
    return {
      code: 'COATING_THIN_YELLOW',
      description: '薄黄苔：热邪尚浅',
      descriptionEn: 'Thin yellow coating: mild heat',
      constitutions: ['DAMP_HEAT'],
      syndromes: ['LUNG_PHLEGM_HEAT'],
    };
  }
  if (coatingColour === 'YELLOW') {
    return {
      code: 'COATING_THICK_YELLOW',
      description: '黄厚苔：湿热蕴结',
      descriptionEn: 'Thick yellow coating: accumulated damp-heat',
      constitutions: ['DAMP_HEAT'],
      syndromes: ['SPLEEN_STOMACH_DAMP_HEAT', 'LIVER_GALLBLADDER_DAMP_HEAT'],
    };
  }
  if (moisture === 'DRY') {
    return {
      code: 'COATING_GREY_BLACK_DRY',
      description: '灰黑苔而干：热极伤阴',
      descriptionEn: 'Dry grey-black coating: extreme heat consuming yin',
      constitutions: ['YIN_DEFICIENT'],
      syndromes: ['KIDNEY_YIN_DEFICIENCY'],
    };
  }
  return {
    code: 'COATING_GREY_BLACK_MOIST',
    description: '灰黑苔而润：阳虚寒盛',
    descriptionEn: 'Moist grey-black coating: yang deficiency with cold',
    constitutions: ['YANG_DEFICIENT'],
    syndromes: ['KIDNEY_YANG_DEFICIENCY'],
  };
}

export const MOISTURE_SIGNS: Record<Exclude<Moisture, 'NORMAL'>, Sign> = {
  DRY: {
    code: 'TONGUE_DRY',
    description: '舌面干燥：津液不足',
    descriptionEn: 'Dry tongue: depleted fluids',
    constitutions: ['YIN_DEFICIENT'],
    syndromes: ['LUNG_YIN_DEFICIENCY', 'KIDNEY_YIN_DEFICIENCY'],
  },
  WET: {
    code: 'TONGUE_WET',
    description: '舌面水滑：阳虚水湿不化',
    descriptionEn: 'Wet, slippery tongue: weak yang failing to transform fluids',
    constitutions: ['YANG_DEFICIENT', 'PHLEGM_DAMP'],
    syndromes: ['SPLEEN_YANG_DEFICIENCY', 'KIDNEY_YANG_DEFICIENCY'],
  },
};

export const SHAPE_SIGNS: Record<'teethMarks' | 'cracks' | 'swollen', Sign> = {
  teethMarks: {
    code: 'TONGUE_TEETH_MARKS',
    description: '齿痕舌：脾虚湿盛',
    descriptionEn: 'Teeth-marked tongue: weak spleen with dampness',
    constitutions: ['QI_DEFICIENT', 'PHLEGM_DAMP'],
    syndromes: ['SPLEEN_QI_DEFICIENCY'],
  },
  cracks: {
    code: 'TONGUE_CRACKS',
    description: '裂纹舌：阴血亏虚',
    descriptionEn: 'Cracked tongue: deficient yin and blood',
    constitutions: ['YIN_DEFICIENT'],
    syndromes: ['KIDNEY_YIN_DEFICIENCY', 'HEART_BLOOD_DEFICIENCY'],
  },
  swollen: {
    code: 'TONGUE_SWOLLEN',
    description: '胖大舌：水湿痰饮内停',
    descriptionEn: 'Swollen tongue: retained water, damp and phlegm',
    constitutions: ['PHLEGM_DAMP', 'YANG_DEFICIENT'],
    syndromes: ['PHLEGM_DAMP_OBSTRUCTION', 'SPLEEN_YANG_DEFICIENCY'],
  },
};

export const COMPLEXION_SIGNS: Record<Complexion, Sign> = {
  NORMAL: {
    code: 'COMPLEXION_NORMAL',
    description: '面色红黄隐隐、明润含蓄：正常面色',
    descriptionEn: 'Lustrous complexion with a hint of red and yellow: normal',
    constitutions: ['BALANCED'],
    syndromes: [],
  },
  PALE: {
    code: 'COMPLEXION_PALE',
    description: '面色淡白：气虚或阳虚',
    descriptionEn: 'Pale complexion: qi or yang deficiency',
    constitutions: ['QI_DEFICIENT', 'YANG_DEFICIENT'],
    syndromes: ['LUNG_QI_DEFICIENCY', 'KIDNEY_YANG_DEFICIENCY'],
  },
  SALLOW: {
    code: 'COMPLEXION_SALLOW',
    description: '面色萎黄：脾虚气血不足',
    descriptionEn: 'Sallow complexion: weak spleen, insufficient qi and blood',
    constitutions: ['QI_DEFICIENT'],
    syndromes: ['SPLEEN_QI_DEFICIENCY', 'HEART_BLOOD_DEFICIENCY'],
  },
  FLUSHED: {
    code: 'COMPLEXION_FLUSHED',
    description: '满面通红：实热',
    descriptionEn: 'Red face: excess heat',
    constitutions: ['DAMP_HEAT'],
    syndromes: ['LIVER_FIRE_BLAZING'],
  },
  MALAR_FLUSH: {
    code: 'COMPLEXION_MALAR_FLUSH',
    description: '两颧潮红：阴虚内热',
    descriptionEn: 'Flushed cheekbones: internal heat from yin deficiency',
    constitutions: ['YIN_DEFICIENT'],
    syndromes: ['KIDNEY_YIN_DEFICIENCY', 'LUNG_YIN_DEFICIENCY'],
  },
  GREASY: {
    code: 'COMPLEXION_GREASY',
    description: '面垢油光：湿热或痰湿',
    descriptionEn: 'Greasy, shiny face: damp-heat or phlegm-damp',
    constitutions: ['DAMP_HEAT', 'PHLEGM_DAMP'],
    syndromes: ['SPLEEN_STOMACH_DAMP_HEAT'],
  },
  DUSKY: {
    code: 'COMPLEXION_DUSKY',
    description: '面色晦暗：血瘀或阳虚',
    descriptionEn: 'Dull, dark complexion: blood stasis or yang deficiency',
    constitutions: ['BLOOD_STASIS', 'YANG_DEFICIENT'],
    syndromes: ['HEART_BLOOD_STASIS', 'KIDNEY_YANG_DEFICIENCY'],
  },
  BLUISH: {
    code: 'COMPLEXION_BLUISH',
    description: '面色青：气滞或血瘀',
    descriptionEn: 'Bluish complexion: qi stagnation or blood stasis',
    constitutions: ['QI_STAGNATION', 'BLOOD_STASIS'],
    syndromes: ['LIVER_QI_STAGNATION', 'QI_STAGNATION_BLOOD_STASIS'],
  },
};

/**
 * The findings of one inspection, in a fixed order: tongue body colour,
 * coating, moisture (when not normal), teeth marks, cracks, swelling (when
 * present), complexion (when given).
 */
export function inspect(input: InspectionInput): Finding[] {
  const { tongue } = input;
  const signs: Sign[] = [BODY_COLOUR_SIGNS[tongue.bodyColour], coatingSign(tongue)];
  if (tongue.moisture !== 'NORMAL') signs.push(MOISTURE_SIGNS[tongue.moisture]);
  for (const shape of ['teethMarks', 'cracks', 'swollen'] as const) if (tongue[shape]) signs.push(SHAPE_SIGNS[shape]);
  if (input.complexion) signs.push(COMPLEXION_SIGNS[input.complexion]);
  return withMethod('INSPECTION', signs);
}

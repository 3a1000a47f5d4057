/**
 * The shapes of the reference content. The modules next to this file are the
 * source of truth: `migrate` upserts them, and validate.ts checks them (keys,
 * links, pinyin) before anything is written.
 */

export const CONSTITUTION_CODES = [
  'BALANCED',
  'QI_DEFICIENT',
  'YANG_DEFICIENT',
  'YIN_DEFICIENT',
  'PHLEGM_DAMP',
  'DAMP_HEAT',
  'BLOOD_STASIS',
  'QI_STAGNATION',
  'INHERITED_SPECIAL',
] as const;
export type ConstitutionCode = (typeof CONSTITUTION_CODES)[number];

export const NATURES = ['COLD', 'COOL', 'NEUTRAL', 'WARM', 'HOT'] as const;
export type Nature = (typeof NATURES)[number];
export const NATURE_ZH: Record<Nature, string> = { COLD: '寒', COOL: '凉', NEUTRAL: '平', WARM: '温', HOT: '热' };

export const FLAVOURS = ['SOUR', 'BITTER', 'SWEET', 'PUNGENT', 'SALTY', 'BLAND', 'ASTRINGENT'] as const;
export type Flavour = (typeof FLAVOURS)[number];
export const FLAVOUR_ZH: Record<Flavour, string> = { SOUR: '酸', BITTER: '苦', SWEET: '甘', PUNGENT: '辛', SALTY: '咸', BLAND: '淡', ASTRINGENT: '涩' };

export const MERIDIANS = [
  'LUNG',
  'LARGE_INTESTINE',
  'STOMACH',
  'SPLEEN',
  'HEART',
  'SMALL_INTESTINE',
  'BLADDER',
  'KIDNEY',
  'PERICARDIUM',
  'SAN_JIAO',
  'GALLBLADDER',
  'LIVER',
  'CONCEPTION_VESSEL',
  'GOVERNING_VESSEL',
] as const;
export type Meridian = (typeof MERIDIANS)[number];
export const MERIDIAN_ZH: Record<Meridian, string> = {
  LUNG: '肺',
  LARGE_INTESTINE: '大肠',
  STOMACH: '胃',
  SPLEEN: '脾',
  HEART: '心',
  SMALL_INTESTINE: '小肠',
  BLADDER: '膀胱',
  KIDNEY: '肾',
  PERICARDIUM: '心包',
  SAN_JIAO: '三焦',
  GALLBLADDER: '胆',
  LIVER: '肝',
  CONCEPTION_VESSEL: '任脉',
  GOVERNING_VESSEL: '督脉',
};
/** WHO standard acupuncture point prefixes, one per channel. */
export const MERIDIAN_PREFIX: Record<Meridian, string> = {
  LUNG: 'LU',
  LARGE_INTESTINE: 'LI',
  STOMACH: 'ST',
  SPLEEN: 'SP',
  HEART: 'HT',
  SMALL_INTESTINE: 'SI',
  BLADDER: 'BL',
  KIDNEY: 'KI',
  PERICARDIUM: 'PC',
  SAN_JIAO: 'TE',
  GALLBLADDER: 'GB',
  LIVER: 'LR',
  CONCEPTION_VESSEL: 'CV',
  GOVERNING_VESSEL: 'GV',
};

export interface ConstitutionContent {
  code: ConstitutionCode;
  /** Standard name, e.g. 气虚质. */
  name: string;
  /** Without 质, e.g. 气虚. */
  shortName: string;
  nameEn: string;
  /** With tone marks, syllables separated by spaces. */
  pinyin: string;
  summary: string;
  summaryEn: string;
  characteristics: string[];
  susceptibilities: string[];
  advice: { diet: string; exercise: string; sleep: string; emotions: string; seasons: string };
  herbs: string[];
  foods: string[];
  acupoints: string[];
}

export interface HerbContent {
  /** Pinyin without tones or spaces; ü is written v (nvzhenzi). */
  id: string;
  name: string;
  pinyin: string;
  nameEn: string;
  latinName: string;
  /** Materia medica category, e.g. 补气药. */
  category: string;
  nature: Nature;
  flavours: Flavour[];
  meridians: Meridian[];
  actions: string[];
  actionsEn: string;
  cautions: string[];
  /** Other names people search by, e.g. 北芪. */
  aliases?: string[];
}

export interface AcupointContent {
  code: string;
  name: string;
  pinyin: string;
  nameEn: string;
  meridian: Meridian;
  location: string;
  indications: string[];
  selfCare: string;
  summaryEn: string;
}

export interface SyndromeContent {
  code: string;
  name: string;
  pinyin: string;
  nameEn: string;
  category: string;
  keySigns: string[];
  tongue: string;
  pulse: string;
  treatmentPrinciple: string;
  summaryEn: string;
  constitutions: ConstitutionCode[];
}

export interface ArticleContent {
  id: string;
  title: string;
  titleEn: string;
  summary: string;
  /** Markdown. */
  body: string;
  tags: string[];
  /** ISO date, YYYY-MM-DD (published at 00:00 UTC). */
  publishedOn: string;
  constitutions: ConstitutionCode[];
}

export interface FoodContent {
  id: string;
  name: string;
  nameEn: string;
  nature: Nature;
}

/** The id of the agent subgraph's LaoKe 老克, author of every article. */
export const LAOKE_AGENT_ID = 'laoke';

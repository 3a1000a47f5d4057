import type { BiasedConstitution } from './constitutions.js';

/**
 * The TCM syndromes (证候) this subgraph can suggest, by the codes the
 * knowledge subgraph keys `Syndrome` on. Every rule that names a syndrome
 * (inspection, listening, palpation, synthesis) draws from this one list, so
 * aligning codes with the knowledge base is a change to this file only.
 */
export const SYNDROMES = {
  SPLEEN_QI_DEFICIENCY: { name: '脾气虚证', nameEn: 'spleen qi deficiency' },
  LUNG_QI_DEFICIENCY: { name: '肺气虚证', nameEn: 'lung qi deficiency' },
  HEART_QI_DEFICIENCY: { name: '心气虚证', nameEn: 'heart qi deficiency' },
  SPLEEN_YANG_DEFICIENCY: { name: '脾阳虚证', nameEn: 'spleen yang deficiency' },
  KIDNEY_YANG_DEFICIENCY: { name: '肾阳虚证', nameEn: 'kidney yang deficiency' },
  KIDNEY_YIN_DEFICIENCY: { name: '肾阴虚证', nameEn: 'kidney yin deficiency' },
  LUNG_YIN_DEFICIENCY: { name: '肺阴虚证', nameEn: 'lung yin deficiency' },
  HEART_BLOOD_DEFICIENCY: { name: '心血虚证', nameEn: 'heart blood deficiency' },
  LIVER_QI_STAGNATION: { name: '肝郁气滞证', nameEn: 'liver qi stagnation' },
  LIVER_FIRE_BLAZING: { name: '肝火上炎证', nameEn: 'liver fire blazing upward' },
  PHLEGM_DAMP_OBSTRUCTION: { name: '痰湿内阻证', nameEn: 'internal obstruction of phlegm-damp' },
  SPLEEN_STOMACH_DAMP_HEAT: { name: '脾胃湿热证', nameEn: 'damp-heat in spleen and stomach' },
  LIVER_GALLBLADDER_DAMP_HEAT: { name: '肝胆湿热证', nameEn: 'damp-heat in liver and gallbladder' },
  LUNG_PHLEGM_HEAT: { name: '痰热壅肺证', nameEn: 'phlegm-heat obstructing the lung' },
  HEART_BLOOD_STASIS: { name: '心血瘀阻证', nameEn: 'heart blood stasis' },
  QI_STAGNATION_BLOOD_STASIS: { name: '气滞血瘀证', nameEn: 'qi stagnation and blood stasis' },
  FOOD_STAGNATION: { name: '食滞胃脘证', nameEn: 'food retention in the stomach' },
  DEFENSIVE_QI_INSECURITY: { name: '卫表不固证', nameEn: 'insecurity of defensive qi' },
} as const satisfies Record<string, { name: string; nameEn: string }>;

export type SyndromeCode = keyof typeof SYNDROMES;

export const SYNDROME_CODES = Object.keys(SYNDROMES) as SyndromeCode[];

/**
 * The syndromes each biased constitution predisposes to. Synthesis favours
 * these when the findings also point to them; a constitution alone never
 * suggests a syndrome (syndrome differentiation needs observed signs).
 */
export const SYNDROMES_OF_CONSTITUTION: Record<BiasedConstitution, readonly SyndromeCode[]> = {
  QI_DEFICIENT: ['SPLEEN_QI_DEFICIENCY', 'LUNG_QI_DEFICIENCY', 'HEART_QI_DEFICIENCY'],
  YANG_DEFICIENT: ['SPLEEN_YANG_DEFICIENCY', 'KIDNEY_YANG_DEFICIENCY'],
  YIN_DEFICIENT: ['KIDNEY_YIN_DEFICIENCY', 'LUNG_YIN_DEFICIENCY', 'HEART_BLOOD_DEFICIENCY'],
  PHLEGM_DAMP: ['PHLEGM_DAMP_OBSTRUCTION', 'FOOD_STAGNATION'],
  DAMP_HEAT: ['SPLEEN_STOMACH_DAMP_HEAT', 'LIVER_GALLBLADDER_DAMP_HEAT', 'LUNG_PHLEGM_HEAT'],
  BLOOD_STASIS: ['HEART_BLOOD_STASIS', 'QI_STAGNATION_BLOOD_STASIS'],
  QI_STAGNATION: ['LIVER_QI_STAGNATION', 'LIVER_FIRE_BLAZING', 'QI_STAGNATION_BLOOD_STASIS'],
  INHERITED_SPECIAL: ['DEFENSIVE_QI_INSECURITY'],
};

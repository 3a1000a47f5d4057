import { describe, expect, it } from 'vitest';
import { CONSTITUTION_CODES } from '../src/service/constitutions.js';
import { BODY_COLOUR_SIGNS, COMPLEXION_SIGNS, coatingSign, inspect, MOISTURE_SIGNS, SHAPE_SIGNS, type TongueObservation } from '../src/service/inspection.js';
import { COUGH_SIGNS, listen, ODOUR_SIGNS, VOICE_SIGNS } from '../src/service/listening.js';
import { SYNDROME_CODES, SYNDROMES_OF_CONSTITUTION } from '../src/service/syndromes.js';
import type { Sign } from '../src/service/findings.js';

const normalTongue: TongueObservation = {
  bodyColour: 'LIGHT_RED',
  coatingColour: 'WHITE',
  coatingThickness: 'THIN',
  moisture: 'NORMAL',
  teethMarks: false,
  cracks: false,
  swollen: false,
};

describe('inspection rules', () => {
  it('reads a normal tongue and complexion as three normal findings pointing to BALANCED', () => {
    const findings = inspect({ tongue: normalTongue, complexion: 'NORMAL' });
    expect(findings.map((f) => f.code)).toEqual(['TONGUE_LIGHT_RED', 'COATING_THIN_WHITE', 'COMPLEXION_NORMAL']);
    for (const finding of findings) expect(finding).toMatchObject({ method: 'INSPECTION', constitutions: ['BALANCED'], syndromes: [] });
  });

  it('adds moisture and shape findings only when present, in a fixed order', () => {
    const findings = inspect({
      tongue: { ...normalTongue, bodyColour: 'PALE', moisture: 'WET', teethMarks: true, cracks: true, swollen: true },
      complexion: 'PALE',
    });
    expect(findings.map((f) => f.code)).toEqual([
      'TONGUE_PALE', 'COATING_THIN_WHITE', 'TONGUE_WET', 'TONGUE_TEETH_MARKS', 'TONGUE_CRACKS', 'TONGUE_SWOLLEN', 'COMPLEXION_PALE',
    ]);
  });

  it.each([
    ['PALE', ['QI_DEFICIENT', 'YANG_DEFICIENT'], 'SPLEEN_QI_DEFICIENCY'],
    ['RED', ['YIN_DEFICIENT', 'DAMP_HEAT'], 'LIVER_FIRE_BLAZING'],
    ['CRIMSON', ['YIN_DEFICIENT'], 'KIDNEY_YIN_DEFICIENCY'],
    ['PURPLE', ['BLOOD_STASIS'], 'HEART_BLOOD_STASIS'],
  ] as const)('reads a %s tongue body as %j', (colour, constitutions, syndrome) => {
    expect(BODY_COLOUR_SIGNS[colour].constitutions).toEqual(constitutions);
    expect(BODY_COLOUR_SIGNS[colour].syndromes).toContain(syndrome);
  });

  it('reads the coating by colour and thickness, grey-black by moisture', () => {
    const coating = (coatingColour: TongueObservation['coatingColour'], coatingThickness: TongueObservation['coatingThickness'], moisture: TongueObservation['moisture'] = 'NORMAL') =>
      coatingSign({ coatingColour, coatingThickness, moisture });
    expect(coating('WHITE', 'THICK')).toMatchObject({ code: 'COATING_THICK_WHITE', constitutions: ['PHLEGM_DAMP'] });
    expect(coating('YELLOW', 'THIN')).toMatchObject({ code: 'COATING_THIN_YELLOW', constitutions: ['DAMP_HEAT'] });
    expect(coating('YELLOW', 'THICK')).toMatchObject({ code: 'COATING_THICK_YELLOW', syndromes: ['SPLEEN_STOMACH_DAMP_HEAT', 'LIVER_GALLBLADDER_DAMP_HEAT'] });
    expect(coating('GREY_BLACK', 'THIN', 'DRY')).toMatchObject({ code: 'COATING_GREY_BLACK_DRY', constitutions: ['YIN_DEFICIENT'] });
    expect(coating('GREY_BLACK', 'THICK', 'WET')).toMatchObject({ code: 'COATING_GREY_BLACK_MOIST', constitutions: ['YANG_DEFICIENT'] });
  });

  it('reads complexions after their classical meaning', () => {
    expect(COMPLEXION_SIGNS.MALAR_FLUSH.constitutions).toEqual(['YIN_DEFICIENT']);
    expect(COMPLEXION_SIGNS.SALLOW.syndromes).toContain('SPLEEN_QI_DEFICIENCY');
    expect(COMPLEXION_SIGNS.BLUISH.constitutions).toContain('QI_STAGNATION');
    expect(COMPLEXION_SIGNS.GREASY.constitutions).toEqual(['DAMP_HEAT', 'PHLEGM_DAMP']);
  });
});

describe('listening rules', () => {
  it('reads a normal voice with nothing else as one normal finding', () => {
    expect(listen({ voiceVolume: 'NORMAL', breathless: false, cough: 'NONE', odour: 'NONE', frequentSighing: false })).toEqual([
      expect.objectContaining({ method: 'LISTENING', code: 'VOICE_NORMAL', constitutions: ['BALANCED'] }),
    ]);
  });

  it('lists voice, breath, cough, odour and sighing in that order', () => {
    const findings = listen({ voiceVolume: 'LOW', breathless: true, cough: 'WHEEZING', odour: 'SOUR', frequentSighing: true });
    expect(findings.map((f) => f.code)).toEqual(['VOICE_LOW', 'BREATH_SHORT', 'COUGH_WHEEZING', 'ODOUR_SOUR', 'FREQUENT_SIGHING']);
    expect(findings.find((f) => f.code === 'COUGH_WHEEZING')).toMatchObject({ constitutions: ['INHERITED_SPECIAL'], syndromes: ['DEFENSIVE_QI_INSECURITY'] });
    expect(findings.find((f) => f.code === 'FREQUENT_SIGHING')).toMatchObject({ constitutions: ['QI_STAGNATION'], syndromes: ['LIVER_QI_STAGNATION'] });
  });

  it('reads a weak voice and cough as qi deficiency, a dry cough as yin deficiency, foul breath as damp-heat', () => {
    expect(VOICE_SIGNS.LOW.constitutions).toEqual(['QI_DEFICIENT']);
    expect(COUGH_SIGNS.WEAK.syndromes).toEqual(['LUNG_QI_DEFICIENCY']);
    expect(COUGH_SIGNS.DRY).toMatchObject({ constitutions: ['YIN_DEFICIENT'], syndromes: ['LUNG_YIN_DEFICIENCY'] });
    expect(ODOUR_SIGNS.FOUL.constitutions).toEqual(['DAMP_HEAT']);
  });
});

describe('rule tables', () => {
  const allSigns: Sign[] = [
    ...Object.values(BODY_COLOUR_SIGNS),
    ...Object.values(MOISTURE_SIGNS),
    ...Object.values(SHAPE_SIGNS),
    ...Object.values(COMPLEXION_SIGNS),
    ...Object.values(VOICE_SIGNS),
    ...Object.values(COUGH_SIGNS),
    ...Object.values(ODOUR_SIGNS),
  ];

  it('name only known constitutions and syndromes, describe every sign in both languages, and use unique codes', () => {
    for (const sign of allSigns) {
      for (const c of sign.constitutions) expect(CONSTITUTION_CODES).toContain(c);
      for (const s of sign.syndromes) expect(SYNDROME_CODES).toContain(s);
      expect(sign.description).toMatch(/[\u4e00-\u9fff]/);
      expect(sign.descriptionEn).toMatch(/^[A-Z]/);
      // A normal sign points to BALANCED alone and to no syndrome; an abnormal one never to BALANCED.
      if (sign.constitutions.includes('BALANCED')) expect(sign).toMatchObject({ constitutions: ['BALANCED'], syndromes: [] });
      else expect(sign.syndromes.length + sign.constitutions.length).toBeGreaterThan(0);
    }
    const codes = allSigns.map((s) => s.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('gives every biased constitution typical syndromes from the one list', () => {
    for (const list of Object.values(SYNDROMES_OF_CONSTITUTION)) {
      expect(list.length).toBeGreaterThan(0);
      for (const s of list) expect(SYNDROME_CODES).toContain(s);
    }
    expect(SYNDROME_CODES.length).toBeGreaterThanOrEqual(15);
  });
});

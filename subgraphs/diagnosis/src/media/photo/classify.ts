/**
 * From measured colours and fractions to the classes of the inspection, each with a confidence 0–1.
 *
 * Every confidence is the margin to the nearest class boundary, scaled by a documented width and clamped:
 * 0 on the boundary itself, 1 at (or beyond) a typical member of the class. This is an honest "how far from
 * changing my mind" measure, not a calibrated probability.
 */
import type { CoatingColourValue, CoatingThicknessValue, Estimate, MoistureValue, TongueBodyColourValue } from '../contracts.js';

export interface Lab {
  l: number;
  a: number;
  b: number;
}

/**
 * Typical CIELAB of each body colour, after the ranges reported for tongue body colour in colorimetric TCM studies
 * (pale: light, low chroma; light red: the normal tongue; red: higher chroma; crimson: deep red, dark; purple: hue
 * turned towards blue, b* below zero).
 */
export const BODY_PROTOTYPES: Readonly<Record<TongueBodyColourValue, Lab>> = {
  PALE: { l: 75, a: 18, b: 9 },
  LIGHT_RED: { l: 62, a: 33, b: 13 },
  RED: { l: 52, a: 50, b: 26 },
  CRIMSON: { l: 36, a: 45, b: 20 },
  PURPLE: { l: 40, a: 30, b: -10 },
};

/** Lightness counts half: it moves most with exposure, whereas hue and chroma carry the class. */
const L_WEIGHT = 0.5;

function distance(p: Lab, q: Lab): number {
  return Math.hypot(L_WEIGHT * (p.l - q.l), p.a - q.a, p.b - q.b);
}

/**
 * Nearest prototype in weighted CIELAB. Confidence = distance from the bisector between the nearest and the
 * runner-up prototype, over half the distance between those two prototypes (1 when at the prototype or beyond).
 */
export function classifyBody(lab: Lab): Estimate<TongueBodyColourValue> {
  const ranked = (Object.entries(BODY_PROTOTYPES) as [TongueBodyColourValue, Lab][])
    .map(([value, prototype]) => ({ value, prototype, d: distance(lab, prototype) }))
    .sort((x, y) => x.d - y.d);
  const [first, second] = ranked as [(typeof ranked)[0], (typeof ranked)[0]];
  const between = distance(first.prototype, second.prototype);
  const margin = (second.d ** 2 - first.d ** 2) / (2 * between);
  return { value: first.value, confidence: clamp01(margin / (between / 2)) };
}

/** Coating lighter than this (L*) is white or yellow; darker is the grey-black coating. */
const GREY_BLACK_MAX_L = 60;
const GREY_BLACK_WIDTH = 15;
/** Yellowness (b* above a*'s share) that separates a yellow from a white coating. */
const YELLOW_MIN_B = 18;
const YELLOW_WIDTH = 12;
/** Below this coated fraction the coating colour is the default "thin white", said with low confidence. */
export const COATING_MIN_FRACTION = 0.03;

export function classifyCoatingColour(coating: Lab | null, coatedFraction: number): Estimate<CoatingColourValue> {
  // With (almost) no coating the tongue reads as the normal thin white coating; how sure grows with the amount seen.
  if (!coating || coatedFraction < COATING_MIN_FRACTION) return { value: 'WHITE', confidence: round(0.3 * (1 - coatedFraction / COATING_MIN_FRACTION)) };
  const darkMargin = (GREY_BLACK_MAX_L - coating.l) / GREY_BLACK_WIDTH;
  if (darkMargin > 0) return { value: 'GREY_BLACK', confidence: clamp01(darkMargin) };
  const yellowness = coating.b - 0.3 * Math.max(0, coating.a);
  const yellowMargin = (yellowness - YELLOW_MIN_B) / YELLOW_WIDTH;
  const lightConfidence = clamp01(-darkMargin);
  return yellowMargin > 0
    ? { value: 'YELLOW', confidence: Math.min(clamp01(yellowMargin), lightConfidence) }
    : { value: 'WHITE', confidence: Math.min(clamp01(-yellowMargin), lightConfidence) };
}

/** A coating over this share of the tongue hides the body: thick (厚苔); below, thin (薄苔). */
export const THICK_MIN_FRACTION = 0.4;
const THICKNESS_WIDTH = 0.2;

export function classifyThickness(coatedFraction: number): Estimate<CoatingThicknessValue> {
  const margin = (coatedFraction - THICK_MIN_FRACTION) / THICKNESS_WIDTH;
  return { value: margin > 0 ? 'THICK' : 'THIN', confidence: clamp01(Math.abs(margin)) };
}

/** Specular share of the tongue: below DRY_MAX dry, above WET_MIN wet. */
export const DRY_MAX_SPECULAR = 0.0025;
export const WET_MIN_SPECULAR = 0.0095;
/** Margins are on a log scale: a factor of 2.5 from the boundary is full confidence. */
const MOISTURE_LOG_WIDTH = Math.log(2.5);
const SPECULAR_FLOOR = 1e-4;

export function classifyMoisture(specularFraction: number): Estimate<MoistureValue> {
  const f = Math.log(Math.max(specularFraction, SPECULAR_FLOOR));
  const toDry = (Math.log(DRY_MAX_SPECULAR) - f) / MOISTURE_LOG_WIDTH;
  const toWet = (f - Math.log(WET_MIN_SPECULAR)) / MOISTURE_LOG_WIDTH;
  if (toDry > 0) return { value: 'DRY', confidence: clamp01(toDry) };
  if (toWet > 0) return { value: 'WET', confidence: clamp01(toWet) };
  return { value: 'NORMAL', confidence: clamp01(Math.min(-toDry, -toWet)) };
}

function clamp01(x: number): number {
  return round(Math.min(1, Math.max(0, x)));
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * Tongue photo analysis (issue 21: Analysis › Tongue photo), classical image processing on a downscaled copy:
 * exposure → tongue region (colour thresholds, largest component, holes filled) → blur → specular highlights,
 * coating and body colour → classes with confidences. No model weights.
 */
import { MediaRefusal, type TongueAnalysis } from '../contracts.js';
import { classifyBody, classifyCoatingColour, classifyMoisture, classifyThickness, COATING_MIN_FRACTION, type Lab } from './classify.js';
import { chroma, hueDegrees, meanLinearLuminance, toLab, type LabPixels } from './lab.js';
import { openImage, refusalFromDecodeError } from './limits.js';
import { assertExposure, assertSharp, laplacianVariance, measureExposure } from './quality.js';
import { boxMean, count, erode, fillHoles, largestComponent, smallBlobs, type Mask } from './region.js';

/** Long side of the analysed copy: JPEG shrink-on-load decodes a 12 MP photo straight to about this size. */
export const ANALYSIS_LONG_SIDE = 640;
/**
 * Exposure compensation: colours are read as if the whole photo's mean linear luminance were this (a face photo as
 * phone auto-exposure renders it in daylight, sRGB luma ≈ 165), within a gain of 0.6–1.6. Without it a red tongue
 * shot a little dark reads as crimson. The body prototypes (classify.ts) are meant at this exposure.
 */
export const REFERENCE_LINEAR_LUMINANCE = 0.38;
const MIN_GAIN = 0.6;
const MAX_GAIN = 1.6;
/** A region under this share of the image is no tongue at all; under TONGUE_MIN_FRACTION, a tongue too far away. */
export const NO_TONGUE_MAX_FRACTION = 0.01;
export const TONGUE_MIN_FRACTION = 0.05;

/** Tongue body: pink to red to purple hues (CIELAB), some chroma, neither black shadow nor white glare. */
const BODY_MIN_CHROMA = 14;
const BODY_MIN_L = 22;
const BODY_MAX_L = 95;
const BODY_HUE_FROM = 300;
const BODY_HUE_TO = 45;
/** Coating hides the body's redness: a* under this share of the body's mean a*. */
const COATING_MAX_A_SHARE = 0.45;
/**
 * Specular highlight: near-white as captured (luma, before exposure compensation), clearly brighter than its 9×9
 * neighbourhood (so a white coating patch is not one), in small blobs.
 */
const SPECULAR_MIN_LUMA = 235;
const SPECULAR_MAX_CHROMA = 12;
const SPECULAR_MIN_CONTRAST = 20;
const SPECULAR_MAX_BLOB_SHARE = 0.01;

export async function analyseTongue(bytes: Buffer): Promise<TongueAnalysis> {
  const px = await decode(bytes);
  const { width, height } = px;
  const n = width * height;

  const exposure = measureExposure(px.luma);
  assertExposure(exposure);

  const region = findTongue(px);
  const area = count(region);
  const tongueAreaFraction = area / n;
  if (tongueAreaFraction < NO_TONGUE_MAX_FRACTION) {
    throw new MediaRefusal('NO_TONGUE', 'No tongue was found in the photo. Please stick the tongue out fully, centred in the frame, in daylight.');
  }
  if (tongueAreaFraction < TONGUE_MIN_FRACTION) {
    throw new MediaRefusal('TONGUE_TOO_SMALL', 'The tongue is too small in the photo. Please hold the phone closer so the tongue fills the middle of the frame.');
  }
  const interior = erode(region, width, height, 2);
  const sharpness = laplacianVariance(px.luma, width, height, interior);
  assertSharp(sharpness);

  const specular = findSpecular(px, region, area);
  const specularCount = count(specular);

  // First guess of the body's redness, from body-coloured interior pixels; coating is what lost most of it.
  const bodyGuess = meanLab(px, (i) => interior[i] === 1 && specular[i] === 0 && isBodyColoured(px, i));
  const coating = new Uint8Array(n);
  const coatingMaxA = COATING_MAX_A_SHARE * Math.max(bodyGuess?.a ?? 0, BODY_MIN_CHROMA);
  for (let i = 0; i < n; i++) if (region[i] && !specular[i] && px.a[i]! < coatingMaxA) coating[i] = 1;
  const coatedCount = count(coating);
  const coatedFraction = coatedCount / area;

  const bodyLab = meanLab(px, (i) => interior[i] === 1 && specular[i] === 0 && coating[i] === 0 && isBodyColoured(px, i)) ??
    meanLab(px, (i) => region[i] === 1 && coating[i] === 0)!;
  // Patch edges blend into the body; the eroded patches give the coating's own colour when there are enough of them.
  const coreCoating = erode(coating, width, height, 1);
  const coatingPixels = count(coreCoating) >= coatedCount * 0.3 ? coreCoating : coating;
  const coatingLab = coatedFraction >= COATING_MIN_FRACTION ? meanLab(px, (i) => coatingPixels[i] === 1) : null;

  return {
    bodyColour: classifyBody(bodyLab),
    coatingColour: classifyCoatingColour(coatingLab, coatedFraction),
    coatingThickness: classifyThickness(coatedFraction),
    moisture: classifyMoisture(specularCount / area),
    measures: {
      width,
      height,
      tongueAreaFraction: round(tongueAreaFraction, 4),
      coatedFraction: round(coatedFraction, 4),
      specularFraction: round(specularCount / area, 5),
      sharpness: round(sharpness, 2),
      meanLuminance: round(exposure.meanLuminance, 2),
      bodyLab: roundLab(bodyLab),
      bodyHueDegrees: round(hueDegrees(bodyLab.a, bodyLab.b), 2),
      bodyChroma: round(chroma(bodyLab.a, bodyLab.b), 2),
      coatingLab: coatingLab ? roundLab(coatingLab) : null,
    },
  };
}

/** Auto-oriented, shrunk on load to the analysis size, as 8-bit sRGB. */
async function decode(bytes: Buffer): Promise<LabPixels> {
  try {
    const { data, info } = await openImage(bytes)
      .rotate()
      .resize({ width: ANALYSIS_LONG_SIDE, height: ANALYSIS_LONG_SIDE, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const mean = meanLinearLuminance(data, info.channels);
    const gain = mean > 0 ? Math.min(MAX_GAIN, Math.max(MIN_GAIN, REFERENCE_LINEAR_LUMINANCE / mean)) : 1;
    return toLab(data, info.width, info.height, info.channels, gain);
  } catch (error) {
    throw refusalFromDecodeError(error);
  }
}

function isBodyColoured(px: LabPixels, i: number): boolean {
  const l = px.l[i]!;
  const a = px.a[i]!;
  const b = px.b[i]!;
  if (l < BODY_MIN_L || l > BODY_MAX_L || a * a + b * b < BODY_MIN_CHROMA * BODY_MIN_CHROMA) return false;
  const h = hueDegrees(a, b);
  return h >= BODY_HUE_FROM || h <= BODY_HUE_TO;
}

/** The largest body-coloured component with its holes (coating patches, highlights) filled in. */
function findTongue(px: LabPixels): Mask {
  const { width, height } = px;
  const body = new Uint8Array(width * height);
  for (let i = 0; i < body.length; i++) if (isBodyColoured(px, i)) body[i] = 1;
  return fillHoles(largestComponent(body, width, height).mask, width, height);
}

function findSpecular(px: LabPixels, region: Mask, area: number): Mask {
  const { width, height } = px;
  const local = boxMean(px.luma, width, height, 4);
  const candidates = new Uint8Array(width * height);
  for (let i = 0; i < candidates.length; i++) {
    if (!region[i] || px.luma[i]! < SPECULAR_MIN_LUMA || px.luma[i]! - local[i]! < SPECULAR_MIN_CONTRAST) continue;
    if (chroma(px.a[i]!, px.b[i]!) <= SPECULAR_MAX_CHROMA) candidates[i] = 1;
  }
  return smallBlobs(candidates, width, height, Math.max(4, SPECULAR_MAX_BLOB_SHARE * area));
}

function meanLab(px: LabPixels, include: (i: number) => boolean): Lab | null {
  let n = 0;
  let l = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < px.l.length; i++) {
    if (!include(i)) continue;
    n++;
    l += px.l[i]!;
    a += px.a[i]!;
    b += px.b[i]!;
  }
  return n === 0 ? null : { l: l / n, a: a / n, b: b / n };
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

function roundLab({ l, a, b }: Lab): Lab {
  return { l: round(l, 2), a: round(a, 2), b: round(b, 2) };
}

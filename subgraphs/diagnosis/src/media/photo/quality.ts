/**
 * Photo quality checks of the analysis (issue 21: Analysis › Tongue photo): exposure and blur. Each failure is a
 * MediaRefusal whose message the app shows as is, telling the person what to do differently.
 */
import { MediaRefusal } from '../contracts.js';
import type { Mask } from './region.js';

/** Mean luma (0–255) below which, or share of crushed-black pixels above which, the photo is too dark. */
export const DARK_MAX_MEAN = 45;
export const DARK_MAX_CLIPPED = 0.5;
/** Mean luma above which, or share of blown-out pixels above which, the photo is too bright. */
export const BRIGHT_MIN_MEAN = 215;
export const BRIGHT_MAX_CLIPPED = 0.3;
/**
 * Variance of the Laplacian of luma over the tongue, at the analysis size, below which the photo is blurry.
 * On the generated photos (800×600, analysed at 640×480): sharp ≈ 350, Gaussian blur σ 1.2 px ≈ 26, σ 2 ≈ 12,
 * σ 3 ≈ 5, σ 6 ≈ 3 (printed by test/photo-quality.test.ts). To be recalibrated on real photos.
 */
export const BLURRY_MAX_SHARPNESS = 8;

export interface Exposure {
  meanLuminance: number;
  /** Share of pixels at luma ≥ 250. */
  clippedHigh: number;
  /** Share of pixels at luma ≤ 8. */
  clippedLow: number;
}

export function measureExposure(luma: Float32Array): Exposure {
  let sum = 0;
  let high = 0;
  let low = 0;
  for (let i = 0; i < luma.length; i++) {
    const y = luma[i]!;
    sum += y;
    if (y >= 250) high++;
    else if (y <= 8) low++;
  }
  const n = Math.max(1, luma.length);
  return { meanLuminance: sum / n, clippedHigh: high / n, clippedLow: low / n };
}

export function assertExposure({ meanLuminance, clippedHigh, clippedLow }: Exposure): void {
  if (meanLuminance < DARK_MAX_MEAN || clippedLow > DARK_MAX_CLIPPED) {
    throw new MediaRefusal('TOO_DARK', 'The photo is too dark to see the tongue. Please take it again facing a window or in good light, without a coloured lamp.');
  }
  if (meanLuminance > BRIGHT_MIN_MEAN || clippedHigh > BRIGHT_MAX_CLIPPED) {
    throw new MediaRefusal('TOO_BRIGHT', 'The photo is overexposed: the colours are washed out. Please take it again out of direct sunlight and without the flash.');
  }
}

/** Variance of the 4-neighbour Laplacian of `luma` over the pixels of `mask` (border pixels skipped). */
export function laplacianVariance(luma: Float32Array, width: number, height: number, mask: Mask): number {
  let n = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const p = y * width + x;
      if (!mask[p]) continue;
      const lap = luma[p - 1]! + luma[p + 1]! + luma[p - width]! + luma[p + width]! - 4 * luma[p]!;
      n++;
      sum += lap;
      sumSquares += lap * lap;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sumSquares / n - mean * mean;
}

export function assertSharp(sharpness: number): void {
  if (sharpness < BLURRY_MAX_SHARPNESS) {
    throw new MediaRefusal('BLURRY', 'The photo is blurry. Please hold the phone still, tap the tongue to focus, and take it again.');
  }
}

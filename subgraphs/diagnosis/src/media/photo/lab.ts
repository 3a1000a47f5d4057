/**
 * sRGB pixels to CIELAB (D65) and luma, on plain typed arrays. Hand-written: the conversion is a few lines of
 * standard formulas (IEC 61966-2-1, CIE 1976), and per-pixel calls into a colour library would cost more than the
 * whole analysis.
 */

export interface LabPixels {
  width: number;
  height: number;
  l: Float32Array;
  a: Float32Array;
  b: Float32Array;
  /** Rec. 601 luma of the sRGB values, 0–255. */
  luma: Float32Array;
}

const LINEAR = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  const c = i / 255;
  LINEAR[i] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

const XN = 0.95047;
const ZN = 1.08883;
const EPSILON = 216 / 24389;
const KAPPA = 24389 / 27;

function f(t: number): number {
  return t > EPSILON ? Math.cbrt(t) : (KAPPA * t + 16) / 116;
}

/**
 * The mean linear-light luminance (relative Y, 0–1) of the pixels: what an exposure change scales.
 */
export function meanLinearLuminance(rgb: Uint8Array, channels: number): number {
  let sum = 0;
  const n = Math.floor(rgb.length / channels);
  for (let p = 0; p < rgb.length; p += channels) {
    sum += 0.2126729 * LINEAR[rgb[p]!]! + 0.7151522 * LINEAR[rgb[p + 1]!]! + 0.072175 * LINEAR[rgb[p + 2]!]!;
  }
  return n ? sum / n : 0;
}

/**
 * `rgb` holds `channels` bytes per pixel, the first three being R, G, B. `gain` scales linear light before the
 * CIELAB conversion (exposure compensation); luma is always of the bytes as they are.
 */
export function toLab(rgb: Uint8Array, width: number, height: number, channels: number, gain = 1): LabPixels {
  const n = width * height;
  const l = new Float32Array(n);
  const a = new Float32Array(n);
  const b = new Float32Array(n);
  const luma = new Float32Array(n);
  for (let i = 0, p = 0; i < n; i++, p += channels) {
    const r8 = rgb[p]!;
    const g8 = rgb[p + 1]!;
    const b8 = rgb[p + 2]!;
    const r = gain * LINEAR[r8]!;
    const g = gain * LINEAR[g8]!;
    const bl = gain * LINEAR[b8]!;
    const fx = f((0.4124564 * r + 0.3575761 * g + 0.1804375 * bl) / XN);
    const fy = f(0.2126729 * r + 0.7151522 * g + 0.072175 * bl);
    const fz = f((0.0193339 * r + 0.119192 * g + 0.9503041 * bl) / ZN);
    l[i] = 116 * fy - 16;
    a[i] = 500 * (fx - fy);
    b[i] = 200 * (fy - fz);
    luma[i] = 0.299 * r8 + 0.587 * g8 + 0.114 * b8;
  }
  return { width, height, l, a, b, luma };
}

/** Hue angle in degrees, 0–360 (0 = +a*, red; 90 = +b*, yellow; 270 = −b*, blue). */
export function hueDegrees(a: number, b: number): number {
  const h = (Math.atan2(b, a) * 180) / Math.PI;
  return h < 0 ? h + 360 : h;
}

export function chroma(a: number, b: number): number {
  return Math.hypot(a, b);
}

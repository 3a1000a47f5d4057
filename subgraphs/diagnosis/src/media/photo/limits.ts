/**
 * The limits of a tongue photo (issue 21: Upload › Limits) and the one way this folder opens an image with
 * sharp, so every decode (check, strip, analysis) runs under the same pixel limit and the same strictness.
 */
import sharp, { type Sharp } from 'sharp';
import { MediaRefusal } from '../contracts.js';

export const PHOTO_MAX_BYTES = 8 * 1024 * 1024;
export const PHOTO_MAX_PIXELS = 24_000_000;

const heifInput = sharp.format.heif?.input;
/** Prebuilt sharp decodes AV1 (AVIF) but not HEVC; a build with libde265 lists `.heic` among its suffixes. */
export const READS_AVIF = Boolean(heifInput?.buffer);
export const READS_HEIC = Boolean(heifInput?.buffer && heifInput.fileSuffix?.includes('.heic'));

/** The types a photo may be, read from its bytes (never the declared type), for this sharp build. */
export const PHOTO_CONTENT_TYPES: readonly string[] = Object.freeze([
  'image/jpeg',
  'image/png',
  'image/webp',
  ...(READS_AVIF ? ['image/avif'] : []),
  ...(READS_HEIC ? ['image/heic', 'image/heif'] : []),
]);

/**
 * sharp over the bytes with the pixel limit checked from the header (so a decompression bomb is refused before
 * any pixel buffer exists) and decoding that fails on a truncated stream rather than padding it with grey.
 */
export function openImage(bytes: Buffer): Sharp {
  return sharp(bytes, { limitInputPixels: PHOTO_MAX_PIXELS, failOn: 'truncated', sequentialRead: true });
}

/** The refusal for a sharp/libvips error; the library's text stays in the server log, never in the message. */
export function refusalFromDecodeError(error: unknown): MediaRefusal {
  if (error instanceof MediaRefusal) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (/exceeds pixel limit/i.test(text)) return tooManyPixels();
  if (/corrupt header|unsupported image format/i.test(text)) {
    return new MediaRefusal('CORRUPT', 'The photo file is damaged and cannot be opened. Please take or choose the photo again.');
  }
  if (/premature end|read error|truncat|unexpected end|end of (file|data|stream)|not enough data/i.test(text)) {
    return new MediaRefusal('TRUNCATED', 'The photo file is incomplete (the upload was cut short). Please upload it again.');
  }
  return new MediaRefusal('CORRUPT', 'The photo file is damaged and cannot be decoded. Please take or choose the photo again.');
}

export function tooManyPixels(width?: number, height?: number): MediaRefusal {
  const size = width && height ? ` (${width}×${height})` : '';
  return new MediaRefusal(
    'TOO_MANY_PIXELS',
    `The photo has too many pixels${size}: at most ${PHOTO_MAX_PIXELS / 1_000_000} megapixels. Please send a smaller photo.`,
  );
}

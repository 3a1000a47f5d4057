/**
 * The checks a tongue photo passes at submit, synchronously (issue 21): its type from its bytes, its size, its
 * pixel count from the header, and a real decode so a truncated or corrupt file is refused now, not by a worker.
 */
import { fileTypeFromBuffer } from 'file-type';
import { MediaRefusal, type CheckedMedia } from '../contracts.js';
import { PHOTO_CONTENT_TYPES, PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS, openImage, refusalFromDecodeError, tooManyPixels } from './limits.js';

/** Decoding down to this size still reads the whole stream (JPEG shrink-on-load skips IDCT work, not data). */
const DECODE_PROBE_SIZE = 64;

export async function checkPhoto(bytes: Buffer): Promise<CheckedMedia> {
  if (bytes.length === 0) throw new MediaRefusal('EMPTY', 'The photo file is empty. Please take or choose the photo again.');
  if (bytes.length > PHOTO_MAX_BYTES) {
    throw new MediaRefusal(
      'TOO_LARGE',
      `The photo is too large (${mebibytes(bytes.length)} MiB): at most ${mebibytes(PHOTO_MAX_BYTES)} MiB. Please send a smaller photo.`,
    );
  }
  const contentType = await sniff(bytes);

  let width: number;
  let height: number;
  try {
    // Header only: sharp refuses a header over limitInputPixels here, before any pixel is allocated.
    const meta = await openImage(bytes).metadata();
    width = meta.autoOrient?.width ?? meta.width;
    height = meta.autoOrient?.height ?? meta.height;
  } catch (error) {
    throw refusalFromDecodeError(error);
  }
  if (!width || !height) throw new MediaRefusal('CORRUPT', 'The photo file has no readable image size. Please take or choose the photo again.');
  if (width * height > PHOTO_MAX_PIXELS) throw tooManyPixels(width, height);

  try {
    await openImage(bytes).resize(DECODE_PROBE_SIZE, DECODE_PROBE_SIZE, { fit: 'inside' }).raw().toBuffer();
  } catch (error) {
    throw refusalFromDecodeError(error);
  }
  return { contentType, byteSize: bytes.length, width, height };
}

/** The type the bytes are; anything this build cannot read is UNSUPPORTED_TYPE, whatever the client declared. */
async function sniff(bytes: Buffer): Promise<string> {
  const type = await fileTypeFromBuffer(bytes);
  if (!type) {
    throw new MediaRefusal('UNSUPPORTED_TYPE', 'The file is not a photo this app can read: send a JPEG, PNG or WebP image.');
  }
  if (PHOTO_CONTENT_TYPES.includes(type.mime)) return type.mime;
  if (type.mime === 'image/heic' || type.mime === 'image/heif') {
    throw new MediaRefusal(
      'UNSUPPORTED_TYPE',
      'HEIC photos cannot be read by this service. Please send a JPEG (on iPhone: Settings › Camera › Formats › Most Compatible), PNG or WebP.',
    );
  }
  throw new MediaRefusal('UNSUPPORTED_TYPE', `The file is ${describe(type.mime)}, not a photo this app can read: send a JPEG, PNG or WebP image.`);
}

function describe(mime: string): string {
  const [family, sub] = mime.split('/');
  return family === 'image' ? `a ${(sub ?? mime).toUpperCase()} image` : `a ${mime} file`;
}

function mebibytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '');
}

/** The checks at submit and the metadata stripping of tongue photos, on hostile and metadata-laden fixtures. */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { MediaRefusal, type MediaRefusalReason } from '../src/media/contracts.js';
import { checkPhoto, PHOTO_CONTENT_TYPES, PHOTO_MAX_BYTES, stripPhoto } from '../src/media/photo/index.js';
import { hostilePhotos, tonguePhoto, type HostilePhotos, type TongueSpec } from '../src/media/synthetic/tongue.js';

const SPEC: TongueSpec = { bodyColour: 'LIGHT_RED', coatingColour: 'WHITE', coatingCoverage: 0.2, moisture: 'NORMAL', width: 480, height: 360 };

async function refusal(promise: Promise<unknown>): Promise<MediaRefusal> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MediaRefusal);
  return error as MediaRefusal;
}

let hostile: HostilePhotos;
beforeAll(async () => {
  hostile = await hostilePhotos();
});

describe('checkPhoto', () => {
  it('accepts JPEG, PNG, WebP and AVIF from their bytes, with the oriented size', async () => {
    expect(PHOTO_CONTENT_TYPES).toEqual(['image/jpeg', 'image/png', 'image/webp', 'image/avif']);
    for (const format of ['jpeg', 'png', 'webp'] as const) {
      const bytes = await tonguePhoto({ ...SPEC, format });
      expect(await checkPhoto(bytes)).toEqual({ contentType: `image/${format}`, byteSize: bytes.length, width: 480, height: 360 });
    }
    const avif = await sharp(await tonguePhoto(SPEC)).avif({ effort: 0 }).toBuffer();
    expect(await checkPhoto(avif)).toMatchObject({ contentType: 'image/avif', width: 480, height: 360 });
    // EXIF orientation 6: the person sees it portrait, and so do the checks.
    expect(await checkPhoto(await tonguePhoto({ ...SPEC, withMetadata: true }))).toMatchObject({ width: 360, height: 480 });
  });

  const cases: [keyof HostilePhotos, MediaRefusalReason, RegExp][] = [
    ['empty', 'EMPTY', /empty/],
    ['htmlThenJpeg', 'UNSUPPORTED_TYPE', /not a photo/],
    ['pngBomb', 'TOO_MANY_PIXELS', /100000×100000|too many pixels/],
    ['truncatedJpeg', 'TRUNCATED', /incomplete/],
    ['truncatedPng', 'TRUNCATED', /incomplete/],
    ['jpegSignatureGarbage', 'CORRUPT', /damaged/],
    ['gif', 'UNSUPPORTED_TYPE', /GIF image/],
    ['bmp', 'UNSUPPORTED_TYPE', /BMP image/],
    ['text', 'UNSUPPORTED_TYPE', /not a photo/],
    ['heic', 'UNSUPPORTED_TYPE', /HEIC/],
  ];
  it.each(cases)('refuses %s as %s', async (name, reason, message) => {
    const error = await refusal(checkPhoto(hostile[name]));
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
  });

  it('refuses a 100000×100000 PNG header without allocating its pixels', async () => {
    const before = process.memoryUsage();
    await refusal(checkPhoto(hostile.pngBomb));
    const after = process.memoryUsage();
    // 10^10 RGB pixels would be 30 GB; anything near even 1 GiB means the header was not what refused it.
    expect(after.rss + after.external - before.rss - before.external).toBeLessThan(256 * 2 ** 20);
  });

  it('refuses over 8 MiB before reading the image', async () => {
    const jpeg = await tonguePhoto(SPEC);
    const big = Buffer.concat([jpeg, Buffer.alloc(PHOTO_MAX_BYTES + 1 - jpeg.length)]);
    const error = await refusal(checkPhoto(big));
    expect(error.reason).toBe('TOO_LARGE');
    expect(error.message).toMatch(/8 MiB/);
    expect(await checkPhoto(big.subarray(0, PHOTO_MAX_BYTES))).toMatchObject({ contentType: 'image/jpeg' });
  });

  it('accepts a JPEG with a ZIP appended (a valid JPEG), and stripping drops the ZIP', async () => {
    expect(await checkPhoto(hostile.jpegThenZip)).toMatchObject({ contentType: 'image/jpeg' });
    expect(hostile.jpegThenZip.includes(Buffer.from('PK\x03\x04', 'latin1'))).toBe(true);
    const stripped = await stripPhoto(hostile.jpegThenZip);
    expect(stripped.bytes.includes(Buffer.from('PK\x03\x04', 'latin1'))).toBe(false);
    expect(stripped.bytes.includes(Buffer.from('hidden payload'))).toBe(false);
  });
});

describe('stripPhoto', () => {
  const leaks = ['GPS', 'Exif', 'xmp', 'FixtureCam', 'Zhang San', 'Fixture Person', 'ICC_PROFILE', 'Display P3'];

  it.each(['jpeg', 'png', 'webp'] as const)('keeps no metadata in a %s, and keeps the format', async (format) => {
    const original = await tonguePhoto({ ...SPEC, format, withMetadata: true });
    const before = await sharp(original).metadata();
    expect(before.exif).toBeDefined();
    expect(before.xmp).toBeDefined();
    expect(before.icc).toBeDefined();
    // EXIF tags are numbers: the GPS IFD pointer is tag 0x8825, in the TIFF's byte order.
    expect(before.exif!.includes(Buffer.from([0x88, 0x25])) || before.exif!.includes(Buffer.from([0x25, 0x88]))).toBe(true);
    expect(original.includes(Buffer.from('FixtureCam'))).toBe(true);
    if (format === 'jpeg') expect(original.includes(Buffer.from('Zhang San'))).toBe(true);

    const stripped = await stripPhoto(original);
    expect(stripped.contentType).toBe(`image/${format}`);
    const after = await sharp(stripped.bytes).metadata();
    expect(after.format).toBe(format);
    expect({ exif: after.exif, xmp: after.xmp, iptc: after.iptc, icc: after.icc, comments: after.comments, orientation: after.orientation }).toEqual({
      exif: undefined,
      xmp: undefined,
      iptc: undefined,
      icc: undefined,
      comments: undefined,
      orientation: undefined,
    });
    for (const leak of leaks) expect(stripped.bytes.includes(Buffer.from(leak)), leak).toBe(false);
    // Orientation 6 was applied to the pixels, since the tag is gone.
    expect([after.width, after.height]).toEqual([360, 480]);
  });

  it('re-encodes AVIF as JPEG', async () => {
    const avif = await sharp(await tonguePhoto(SPEC)).avif({ effort: 0 }).toBuffer();
    const stripped = await stripPhoto(avif);
    expect(stripped.contentType).toBe('image/jpeg');
    expect((await sharp(stripped.bytes).metadata()).format).toBe('jpeg');
  });

  it('refuses what the checks refuse', async () => {
    expect((await refusal(stripPhoto(hostile.truncatedJpeg))).reason).toBe('TRUNCATED');
    expect((await refusal(stripPhoto(hostile.pngBomb))).reason).toBe('TOO_MANY_PIXELS');
  });
});

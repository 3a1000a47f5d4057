/** Every quality refusal of the tongue analysis fires on the photo made to trigger it, and not on a good photo. */
import { describe, expect, it } from 'vitest';
import { MediaRefusal, type MediaRefusalReason } from '../src/media/contracts.js';
import { analyseTongue } from '../src/media/photo/index.js';
import { tonguePhoto, type TongueSpec } from '../src/media/synthetic/tongue.js';

const GOOD: TongueSpec = { bodyColour: 'LIGHT_RED', coatingColour: 'WHITE', coatingCoverage: 0.2, moisture: 'NORMAL' };

describe('analyseTongue quality checks', () => {
  it('passes sharp and slightly soft photos, refuses blurred ones (sharpness printed)', async () => {
    const lines: string[] = [];
    for (const blurSigma of [0, 0.8, 1.2, 2]) {
      const result = await analyseTongue(await tonguePhoto({ ...GOOD, blurSigma }));
      lines.push(`blur σ ${blurSigma} px (800×600): sharpness ${result.measures.sharpness}`);
    }
    for (const blurSigma of [3, 6]) {
      const error = await analyseTongue(await tonguePhoto({ ...GOOD, blurSigma })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MediaRefusal);
      lines.push(`blur σ ${blurSigma} px (800×600): ${(error as MediaRefusal).reason}`);
    }
    console.log(lines.join('\n'));
  });

  const cases: [string, Partial<TongueSpec>, MediaRefusalReason, RegExp][] = [
    ['camera shake (blur σ 3 px)', { blurSigma: 3 }, 'BLURRY', /blurry/],
    ['missed focus on a 12 MP photo (blur σ 20 px)', { blurSigma: 20, width: 4000, height: 3000 }, 'BLURRY', /hold the phone still/],
    ['underexposed (×0.22)', { exposure: 0.22 }, 'TOO_DARK', /too dark/],
    ['overexposed (×1.9)', { exposure: 1.9 }, 'TOO_BRIGHT', /overexposed/],
    ['no tongue in the frame', { noTongue: true }, 'NO_TONGUE', /No tongue/],
    ['tongue far away (scale 0.4)', { tongueScale: 0.4 }, 'TONGUE_TOO_SMALL', /too small/],
  ];
  it.each(cases)('refuses %s', async (_name, change, reason, message) => {
    const error = await analyseTongue(await tonguePhoto({ ...GOOD, ...change })).then(
      (result) => result,
      (e: unknown) => e,
    );
    expect(error, JSON.stringify(error)).toBeInstanceOf(MediaRefusal);
    expect((error as MediaRefusal).reason).toBe(reason);
    expect((error as MediaRefusal).message).toMatch(message);
  });

  it('refuses files it cannot decode with the same refusals as the checks', async () => {
    const jpeg = await tonguePhoto(GOOD);
    const error = await analyseTongue(jpeg.subarray(0, jpeg.length >> 1)).catch((e: unknown) => e);
    expect((error as MediaRefusal).reason).toBe('TRUNCATED');
  });
});

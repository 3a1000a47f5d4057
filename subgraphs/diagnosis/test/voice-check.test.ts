import { describe, expect, it } from 'vitest';
import { MediaRefusal } from '../src/media/contracts.js';
import { analyseVoice, checkVoice, stripVoice } from '../src/media/voice/index.js';
import { fmtChunk, hostileRecordings, METADATA, pcm16, riff, voiceSamples, wavWithMetadata } from '../src/media/synthetic/voice.js';

const refusal = async (work: Promise<unknown>) => {
  const error = await work.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MediaRefusal);
  return error as MediaRefusal;
};

/** The same tone encoded in each accepted sample format. */
function encode(samples: Float32Array, bits: number, float: boolean, channels: number): Buffer {
  const bytes = bits / 8;
  const data = Buffer.alloc(samples.length * bytes * channels);
  samples.forEach((v, i) => {
    for (let c = 0; c < channels; c++) {
      const at = (i * channels + c) * bytes;
      if (float) data.writeFloatLE(v, at);
      else if (bits === 8) data[at] = Math.round(v * 127) + 128;
      else data.writeIntLE(Math.round(v * (2 ** (bits - 1) - 1)), at, bytes);
    }
  });
  return riff([['fmt ', fmtChunk({ sampleRate: 22_050, bits, channels, format: float ? 3 : 1 })], ['data', data]]);
}

describe('checkVoice', () => {
  it.each(hostileRecordings().map((h) => [h.name, h] as const))('refuses %s', async (_, hostile) => {
    const error = await refusal(checkVoice(hostile.bytes));
    expect(error.reason).toBe(hostile.reason);
    expect(error.message.length).toBeGreaterThan(10);
  });

  it('refuses M4A (no verified decoder) with a message naming the fix', async () => {
    const ftyp = Buffer.alloc(32);
    ftyp.writeUInt32BE(32, 0);
    ftyp.write('ftypM4A \0\0\0\0M4A mp42isom\0\0\0\0', 4, 'latin1');
    const error = await refusal(checkVoice(Buffer.concat([ftyp, Buffer.alloc(1000)])));
    expect(error.reason).toBe('UNSUPPORTED_TYPE');
    expect(error.message).toMatch(/M4A.*WAV/);
  });

  const formats = [
    { bits: 8, float: false, channels: 1 },
    { bits: 16, float: false, channels: 2 },
    { bits: 24, float: false, channels: 1 },
    { bits: 32, float: false, channels: 2 },
    { bits: 32, float: true, channels: 1 },
  ];
  it.each(formats)('accepts and decodes PCM $bits-bit float=$float channels=$channels', async ({ bits, float, channels }) => {
    const bytes = encode(voiceSamples({ f0Hz: 180, seconds: 1.5, dbfs: -20, sampleRate: 22_050, harmonics: true }), bits, float, channels);
    expect(await checkVoice(bytes)).toEqual({ contentType: 'audio/wav', byteSize: bytes.length, durationSeconds: 1.5, sampleRate: 22_050 });
    const { measures } = await analyseVoice(bytes);
    expect(Math.abs(measures.f0Hz! / 180 - 1)).toBeLessThan(0.02);
    expect(measures.rmsDbfs).toBeCloseTo(-20, 0);
  });

  it('accepts WAVE_FORMAT_EXTENSIBLE PCM', async () => {
    const fmt = Buffer.alloc(40);
    fmtChunk({ sampleRate: 16_000 }).copy(fmt);
    fmt.writeUInt16LE(0xfffe, 0);
    fmt.writeUInt16LE(22, 16);
    fmt.writeUInt16LE(1, 24); // sub-format GUID 00000001-0000-0010-8000-00aa00389b71: PCM
    const bytes = riff([['fmt ', fmt], ['data', pcm16(voiceSamples({ f0Hz: 150, seconds: 1.2, dbfs: -24 }))]]);
    expect((await checkVoice(bytes)).durationSeconds).toBeCloseTo(1.2, 6);
  });
});

describe('stripVoice', () => {
  it('drops LIST/INFO, bext and id3 chunks and keeps the samples byte for byte', async () => {
    const spec = { f0Hz: 150, seconds: 2, dbfs: -24 };
    const original = wavWithMetadata(spec);
    for (const text of Object.values(METADATA)) expect(original.includes(text)).toBe(true);
    const { bytes, contentType } = await stripVoice(original);
    expect(contentType).toBe('audio/wav');
    for (const text of [...Object.values(METADATA), 'GPS', 'LIST', 'INFO', 'bext', 'id3 ']) expect(bytes.includes(text)).toBe(false);
    expect(bytes.subarray(12, 16).toString('latin1')).toBe('fmt ');
    expect(bytes.subarray(36, 40).toString('latin1')).toBe('data');
    expect(bytes.subarray(44).equals(pcm16(voiceSamples(spec)))).toBe(true);
    expect(bytes.length).toBe(44 + 2 * 2 * 16_000);
    expect(await checkVoice(bytes)).toMatchObject({ durationSeconds: 2, sampleRate: 16_000 });
  });

  it('refuses what the checks refuse', async () => {
    for (const hostile of hostileRecordings()) expect((await refusal(stripVoice(hostile.bytes))).reason).toBe(hostile.reason);
  });
});

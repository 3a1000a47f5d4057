/**
 * Ogg/Opus: a real file, made here with libopus (opusscript, WASM) and a small Ogg muxer (written for this
 * test: no maintained npm package muxes Ogg/Opus in Node), then checked, stripped and analysed.
 */
import OpusScript from 'opusscript';
import { describe, expect, it } from 'vitest';
import { MediaRefusal } from '../src/media/contracts.js';
import { analyseVoice, checkVoice, stripVoice } from '../src/media/voice/index.js';
import { voiceSamples } from '../src/media/synthetic/voice.js';

const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let r = i << 24;
  for (let k = 0; k < 8; k++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
  return r >>> 0;
});

function page(packet: Buffer, sequence: number, granule: number, flags: number): Buffer {
  const lacing = [...Array<number>(Math.floor(packet.length / 255)).fill(255), packet.length % 255];
  const header = Buffer.alloc(27 + lacing.length);
  header.write('OggS', 0, 'latin1');
  header[5] = flags;
  header.writeBigInt64LE(BigInt(granule), 6);
  header.writeUInt32LE(0x5eed, 14);
  header.writeUInt32LE(sequence, 18);
  header[26] = lacing.length;
  Buffer.from(lacing).copy(header, 27);
  const bytes = Buffer.concat([header, packet]);
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  bytes.writeUInt32LE(crc, 22);
  return bytes;
}

const TAG = 'ARTIST=Zhang San GPS 31.2304N 121.4737E';

function oggOpus(samples: Float32Array): Buffer {
  const encoder = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
  const preSkip = 312;
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = 1;
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(48_000, 12);
  const vendor = Buffer.from('suoke-test');
  const comment = Buffer.from(TAG);
  const tags = Buffer.concat([Buffer.from('OpusTags'), Buffer.from(new Uint32Array([vendor.length]).buffer), vendor, Buffer.from(new Uint32Array([1, comment.length]).buffer), comment]);
  const pages = [page(head, 0, 0, 2), page(tags, 1, 0, 0)];
  const frames = Math.floor(samples.length / 960);
  for (let f = 0; f < frames; f++) {
    const pcm = Buffer.alloc(960 * 2);
    for (let i = 0; i < 960; i++) pcm.writeInt16LE(Math.round(samples[f * 960 + i]! * 32767), i * 2);
    pages.push(page(Buffer.from(encoder.encode(pcm, 960)), pages.length, (f + 1) * 960, f === frames - 1 ? 4 : 0));
  }
  encoder.delete();
  return Buffer.concat(pages);
}

describe('Ogg/Opus', () => {
  const bytes = oggOpus(voiceSamples({ f0Hz: 170, seconds: 2, dbfs: -24, sampleRate: 48_000, harmonics: true }));

  it('is checked from its decoded sample count', async () => {
    const checked = await checkVoice(bytes);
    expect(checked).toMatchObject({ contentType: 'audio/ogg; codecs=opus', byteSize: bytes.length, sampleRate: 48_000 });
    expect(checked.durationSeconds).toBeGreaterThan(1.98);
    expect(checked.durationSeconds).toBeLessThanOrEqual(2);
  });

  it('is analysed: f0 within 2 %, level kept', async () => {
    const { measures } = await analyseVoice(bytes);
    expect(Math.abs(measures.f0Hz! / 170 - 1)).toBeLessThan(0.02);
    expect(measures.rmsDbfs).toBeCloseTo(-24, 0);
    expect(measures.voicedFraction).toBeGreaterThan(0.9);
  });

  it('is stored as a 16-bit PCM WAV without its comment tags', async () => {
    expect(bytes.includes(TAG)).toBe(true);
    const stripped = await stripVoice(bytes);
    expect(stripped.contentType).toBe('audio/wav');
    expect(stripped.bytes.includes('GPS')).toBe(false);
    expect(stripped.bytes.includes('suoke-test')).toBe(false);
    const checked = await checkVoice(stripped.bytes);
    expect(checked).toMatchObject({ contentType: 'audio/wav', sampleRate: 48_000 });
    expect(checked.durationSeconds).toBeCloseTo((await checkVoice(bytes)).durationSeconds!, 6);
  });

  it('refuses a truncated file and one with data appended', async () => {
    const reason = (b: Buffer) => checkVoice(b).then(() => 'ACCEPTED', (e: unknown) => (e as MediaRefusal).reason);
    expect(await reason(bytes.subarray(0, bytes.length - 7))).toBe('TRUNCATED');
    expect(await reason(Buffer.concat([bytes, Buffer.from('PK\x03\x04 appended zip', 'latin1')]))).toBe('UNSUPPORTED_TYPE');
  });
});

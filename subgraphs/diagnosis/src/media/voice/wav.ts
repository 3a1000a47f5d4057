/**
 * RIFF/WAVE reading and writing. Hand-written rather than wavefile/node-wav: those trust the header's sizes
 * (they read what the chunk sizes claim, or silently stop at the end), while a recording whose header lies
 * must be refused. Every size here is checked against the real byte length before it is used, and nothing
 * is allocated from a size the header claims.
 */
import { MediaRefusal } from '../contracts.js';
import { VOICE_MAX_SAMPLE_RATE, VOICE_MIN_SAMPLE_RATE } from './limits.js';

const PCM = 1;
const FLOAT = 3;
const EXTENSIBLE = 0xfffe;

export interface WavLayout {
  /** 1 = integer PCM, 3 = IEEE float (WAVE_FORMAT_EXTENSIBLE resolved to its sub-format). */
  format: 1 | 3;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
  dataOffset: number;
  dataLength: number;
  /** Sample frames (one sample per channel) in the data chunk. */
  frames: number;
}

const truncated = (what: string) =>
  new MediaRefusal('TRUNCATED', `The recording is cut short: ${what}. Please record again and upload the whole file.`);
const corrupt = (what: string) => new MediaRefusal('CORRUPT', `The recording is damaged: ${what}.`);

function fourCC(bytes: Buffer, at: number): string {
  return bytes.toString('latin1', at, at + 4);
}

function printableFourCC(bytes: Buffer, at: number): boolean {
  for (let i = at; i < at + 4; i++) if (bytes[i]! < 0x20 || bytes[i]! > 0x7e) return false;
  return true;
}

/** Validate the whole RIFF structure and return where the PCM data is. Throws MediaRefusal. */
export function parseWav(bytes: Buffer): WavLayout {
  if (bytes.length < 12) throw truncated('the file ends inside its header');
  if (fourCC(bytes, 0) !== 'RIFF' || fourCC(bytes, 8) !== 'WAVE') throw corrupt('it is not a RIFF/WAVE file');
  const riffEnd = 8 + bytes.readUInt32LE(4);
  if (riffEnd > bytes.length) throw truncated(`the header announces ${riffEnd} bytes but the file has ${bytes.length}`);
  // One pad byte after the RIFF is tolerated; anything more is another file glued on (a polyglot).
  if (bytes.length - riffEnd > 1) {
    throw new MediaRefusal('UNSUPPORTED_TYPE', 'The recording has other data appended after the audio. Please upload a plain WAV recording.');
  }
  let fmt: Omit<WavLayout, 'dataOffset' | 'dataLength' | 'frames'> | undefined;
  let data: { offset: number; length: number } | undefined;
  let at = 12;
  while (at < riffEnd) {
    if (riffEnd - at < 8) throw truncated('the file ends inside a chunk header');
    if (!printableFourCC(bytes, at)) throw corrupt('a chunk has an invalid name');
    const id = fourCC(bytes, at);
    const size = bytes.readUInt32LE(at + 4);
    const body = at + 8;
    if (size > riffEnd - body) throw truncated(`the "${id.trim()}" chunk announces ${size} bytes but only ${riffEnd - body} remain`);
    if (id === 'fmt ') {
      if (fmt) throw corrupt('it has two format chunks');
      fmt = readFmt(bytes.subarray(body, body + size));
    } else if (id === 'data') {
      if (!fmt) throw corrupt('the audio comes before its format');
      if (data) throw corrupt('it has two data chunks');
      data = { offset: body, length: size };
    }
    at = body + size + (size & 1);
  }
  if (!fmt) throw corrupt('it has no format chunk');
  if (!data) throw truncated('it has no audio data');
  if (data.length % fmt.blockAlign !== 0) throw corrupt(`the audio size ${data.length} is not a whole number of samples`);
  return { ...fmt, dataOffset: data.offset, dataLength: data.length, frames: data.length / fmt.blockAlign };
}

function readFmt(body: Buffer): Omit<WavLayout, 'dataOffset' | 'dataLength' | 'frames'> {
  if (body.length < 16) throw corrupt('its format chunk is too short');
  let tag = body.readUInt16LE(0);
  const channels = body.readUInt16LE(2);
  const sampleRate = body.readUInt32LE(4);
  const blockAlign = body.readUInt16LE(12);
  const bitsPerSample = body.readUInt16LE(14);
  if (tag === EXTENSIBLE) {
    if (body.length < 40) throw corrupt('its extensible format chunk is too short');
    tag = body.readUInt16LE(24); // first two bytes of the sub-format GUID
  }
  if (channels === 0) throw corrupt('it declares zero channels');
  if (sampleRate < VOICE_MIN_SAMPLE_RATE || sampleRate > VOICE_MAX_SAMPLE_RATE) {
    throw corrupt(`its sample rate ${sampleRate} Hz is outside ${VOICE_MIN_SAMPLE_RATE}–${VOICE_MAX_SAMPLE_RATE} Hz`);
  }
  const supported = (tag === PCM && [8, 16, 24, 32].includes(bitsPerSample)) || (tag === FLOAT && bitsPerSample === 32);
  if (!supported) {
    throw new MediaRefusal(
      'UNSUPPORTED_TYPE',
      'This WAV is compressed (e.g. ADPCM or μ-law) or uses an unusual sample format. Please record as plain PCM WAV.',
    );
  }
  if (channels > 2) throw new MediaRefusal('UNSUPPORTED_TYPE', 'Only mono or stereo recordings are accepted.');
  if (blockAlign !== (channels * bitsPerSample) / 8) throw corrupt('its block size does not match its sample format');
  return { format: tag === FLOAT ? FLOAT : PCM, channels, sampleRate, bitsPerSample, blockAlign };
}

/** The samples of each channel as floats in [-1, 1]. */
export function decodeWav(bytes: Buffer, layout: WavLayout): { channels: Float32Array[]; clipLevel: number } {
  const { channels: count, frames, bitsPerSample: bits, blockAlign, dataOffset, format } = layout;
  const channels = Array.from({ length: count }, () => new Float32Array(frames));
  const bytesPer = bits / 8;
  const scale = 2 ** (bits - 1);
  for (let c = 0; c < count; c++) {
    const out = channels[c]!;
    let at = dataOffset + c * bytesPer;
    for (let i = 0; i < frames; i++, at += blockAlign) {
      if (format === FLOAT) out[i] = Math.max(-1, Math.min(1, bytes.readFloatLE(at)));
      else if (bits === 8) out[i] = (bytes[at]! - 128) / 128;
      else if (bits === 16) out[i] = bytes.readInt16LE(at) / scale;
      else if (bits === 24) out[i] = bytes.readIntLE(at, 3) / scale;
      else out[i] = bytes.readInt32LE(at) / scale;
    }
  }
  // The largest positive code of an integer format is one step below 1.0.
  const clipLevel = format === FLOAT ? 0.999 : (scale - 1) / scale - 1e-9;
  return { channels, clipLevel };
}

/** A canonical RIFF/WAVE: a 16-byte `fmt ` chunk and the `data` chunk, nothing else. */
export function writeWav(format: 1 | 3, channels: number, sampleRate: number, bitsPerSample: number, data: Uint8Array): Buffer {
  const pad = data.length & 1;
  const out = Buffer.alloc(44 + data.length + pad);
  const blockAlign = (channels * bitsPerSample) / 8;
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + data.length + pad, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(format, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * blockAlign, 28);
  out.writeUInt16LE(blockAlign, 32);
  out.writeUInt16LE(bitsPerSample, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(data.length, 40);
  out.set(data, 44);
  return out;
}

/** Float channels as an interleaved 16-bit PCM WAV. */
export function floatToWav16(channels: Float32Array[], sampleRate: number): Buffer {
  const frames = channels[0]?.length ?? 0;
  const pcm = Buffer.alloc(frames * channels.length * 2);
  let at = 0;
  for (let i = 0; i < frames; i++) {
    for (const channel of channels) {
      const v = Math.max(-1, Math.min(1, channel[i]!));
      pcm.writeInt16LE(Math.round(v < 0 ? v * 32768 : v * 32767), at);
      at += 2;
    }
  }
  return writeWav(1, channels.length, sampleRate, 16, pcm);
}

/**
 * Ogg/Opus decoding with ogg-opus-decoder (libopus compiled to WASM; no native build). The page walk below is
 * hand-written because the decoder resynchronises on "OggS" and skips what lies between pages, so a file with
 * another file glued inside or after it would decode quietly; here every byte must belong to a page.
 */
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { MediaRefusal } from '../contracts.js';
import { VOICE_MAX_SECONDS } from './limits.js';

const OPUS_RATE = 48_000;
/** Bytes handed to the decoder at a time, so a long recording is refused before it is all in memory. */
const CHUNK = 16 * 1024;

/** Check that the file is a sequence of whole Ogg pages whose first packet is an Opus header. */
export function walkOggPages(bytes: Buffer): void {
  let at = 0;
  let pages = 0;
  while (at < bytes.length) {
    if (bytes.toString('latin1', at, Math.min(at + 4, bytes.length)) !== 'OggS'.slice(0, bytes.length - at)) {
      throw new MediaRefusal('UNSUPPORTED_TYPE', 'The recording has other data mixed into the audio. Please upload a plain recording.');
    }
    if (bytes.length - at < 27) throw new MediaRefusal('TRUNCATED', 'The recording is cut short inside an Ogg page header.');
    const segments = bytes[at + 26]!;
    if (bytes.length - at - 27 < segments) throw new MediaRefusal('TRUNCATED', 'The recording is cut short inside an Ogg page.');
    let size = 0;
    for (let i = 0; i < segments; i++) size += bytes[at + 27 + i]!;
    const end = at + 27 + segments + size;
    if (end > bytes.length) throw new MediaRefusal('TRUNCATED', 'The recording is cut short: its last Ogg page is incomplete.');
    if (pages === 0 && bytes.toString('latin1', at + 27 + segments, at + 27 + segments + 8) !== 'OpusHead') {
      throw new MediaRefusal('UNSUPPORTED_TYPE', 'Only Opus audio is accepted in an Ogg file (not Vorbis or FLAC).');
    }
    at = end;
    pages++;
  }
}

/** Decode an Ogg/Opus file to 48 kHz float channels, refusing past VOICE_MAX_SECONDS (plus a margin) as it goes. */
export async function decodeOggOpus(bytes: Buffer): Promise<{ channels: Float32Array[]; sampleRate: number }> {
  walkOggPages(bytes);
  const decoder = new OggOpusDecoder();
  await decoder.ready;
  const parts: Float32Array[][] = [];
  let total = 0;
  const limit = (VOICE_MAX_SECONDS + 1) * OPUS_RATE;
  try {
    const take = (decoded: { channelData: Float32Array[]; samplesDecoded: number; errors: unknown[] }) => {
      if (decoded.errors.length > 0) throw new MediaRefusal('CORRUPT', 'The recording is damaged: some of its audio cannot be decoded.');
      if (decoded.samplesDecoded === 0) return;
      // The decoder reuses its output memory between calls; keep copies.
      parts.push(decoded.channelData.map((c) => c.slice(0, decoded.samplesDecoded)));
      total += decoded.samplesDecoded;
      if (total > limit) throw new MediaRefusal('TOO_LONG', `The recording is longer than ${VOICE_MAX_SECONDS} seconds.`);
    };
    // decode() returns a promise although its published types say otherwise.
    for (let at = 0; at < bytes.length; at += CHUNK) take(await decoder.decode(bytes.subarray(at, at + CHUNK)));
    take(await decoder.flush());
  } finally {
    decoder.free();
  }
  const channelCount = parts[0]?.length ?? 1;
  const channels = Array.from({ length: channelCount }, (_, c) => {
    const out = new Float32Array(total);
    let at = 0;
    for (const part of parts) {
      out.set(part[c] ?? part[0]!, at);
      at += part[0]!.length;
    }
    return out;
  });
  return { channels, sampleRate: OPUS_RATE };
}

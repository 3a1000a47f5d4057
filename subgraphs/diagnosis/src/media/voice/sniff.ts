/**
 * What a voice file really is, from its bytes (file-type), never from the declared content type; and its
 * decoding to float channels.
 *
 * M4A/AAC is refused. The only maintained WASM AAC decoder on the npm registry (@audio/decode-aac, FAAD2)
 * could not be verified here: no AAC encoder is available to make a real test file, and an untested decoder
 * of hostile input is not something to run on personal uploads. Apps record WAV or Ogg/Opus instead.
 */
import { fileTypeFromBuffer } from 'file-type';
import { MediaRefusal } from '../contracts.js';
import { VOICE_MAX_BYTES, type DecodedVoice, type VoiceContentType } from './limits.js';
import { decodeOggOpus } from './ogg.js';
import { decodeWav, parseWav, type WavLayout } from './wav.js';

export type Sniffed = { contentType: 'audio/wav'; wav: WavLayout } | { contentType: 'audio/ogg; codecs=opus' };

/** Size and type checks that need no decoding. Throws MediaRefusal. */
export async function sniffVoice(bytes: Buffer): Promise<Sniffed> {
  if (bytes.length === 0) throw new MediaRefusal('EMPTY', 'The recording is empty.');
  if (bytes.length > VOICE_MAX_BYTES) {
    throw new MediaRefusal('TOO_LARGE', `The recording is larger than ${VOICE_MAX_BYTES / 1024 / 1024} MiB.`);
  }
  const type = await fileTypeFromBuffer(bytes);
  if (!type && bytes.length < 12 && bytes.toString('latin1', 0, 4) === 'RIFF') {
    throw new MediaRefusal('TRUNCATED', 'The recording is cut short: the file ends inside its header.');
  }
  if (type?.mime === 'audio/wav') return { contentType: 'audio/wav', wav: parseWav(bytes) };
  if (type?.ext === 'opus') return { contentType: 'audio/ogg; codecs=opus' };
  if (type?.ext === 'm4a' || type?.ext === 'mp4' || type?.ext === 'aac') {
    throw new MediaRefusal('UNSUPPORTED_TYPE', 'M4A/AAC recordings are not accepted yet. Please record as WAV or Ogg/Opus.');
  }
  const what = type ? `a ${type.ext.toUpperCase()} file (${type.mime})` : 'not a recognised audio file';
  throw new MediaRefusal('UNSUPPORTED_TYPE', `This file is ${what}. Please upload a WAV or Ogg/Opus voice recording.`);
}

/** Decode checked bytes to float channels. */
export async function decodeVoice(bytes: Buffer, sniffed: Sniffed): Promise<DecodedVoice> {
  const contentType: VoiceContentType = sniffed.contentType;
  if (sniffed.contentType === 'audio/wav') {
    const { channels, clipLevel } = decodeWav(bytes, sniffed.wav);
    return { contentType, sampleRate: sniffed.wav.sampleRate, channels, clipLevel };
  }
  const { channels, sampleRate } = await decodeOggOpus(bytes);
  // Opus decodes to floats that can overshoot full scale slightly; count clipping as for float WAV.
  return { contentType, sampleRate, channels, clipLevel: 0.999 };
}

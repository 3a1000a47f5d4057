/** Submit-time checks of a voice recording (issue 21, Upload › Limits), from the bytes alone. */
import { MediaRefusal, type CheckedMedia, type StrippedMedia } from '../contracts.js';
import { VOICE_MAX_SECONDS, VOICE_MIN_SECONDS } from './limits.js';
import { decodeVoice, sniffVoice } from './sniff.js';
import { floatToWav16, writeWav } from './wav.js';

function checkDuration(seconds: number): void {
  if (seconds < VOICE_MIN_SECONDS) {
    throw new MediaRefusal('TOO_SHORT', `The recording lasts ${seconds.toFixed(1)} s; please record at least ${VOICE_MIN_SECONDS} s.`);
  }
  if (seconds > VOICE_MAX_SECONDS) {
    throw new MediaRefusal('TOO_LONG', `The recording lasts ${seconds.toFixed(1)} s; please keep it under ${VOICE_MAX_SECONDS} s.`);
  }
}

/** Type (from the bytes), size, structure and duration (from the real sample count). Throws MediaRefusal. */
export async function checkVoice(bytes: Buffer): Promise<CheckedMedia> {
  const sniffed = await sniffVoice(bytes);
  let durationSeconds: number;
  let sampleRate: number;
  if (sniffed.contentType === 'audio/wav') {
    sampleRate = sniffed.wav.sampleRate;
    durationSeconds = sniffed.wav.frames / sampleRate;
  } else {
    // Ogg pages carry only a claimed length (granule positions); the decoded sample count is the real one.
    const decoded = await decodeVoice(bytes, sniffed);
    sampleRate = decoded.sampleRate;
    durationSeconds = (decoded.channels[0]?.length ?? 0) / sampleRate;
  }
  checkDuration(durationSeconds);
  return { contentType: sniffed.contentType, byteSize: bytes.length, durationSeconds, sampleRate };
}

/**
 * Only the audio. WAV: a canonical RIFF with just `fmt ` and `data`, the samples byte for byte (LIST/INFO,
 * bext, iXML, id3 and every other chunk dropped). Ogg/Opus: decoded and kept as a 16-bit PCM WAV at 48 kHz,
 * so no comment/vendor tag can survive and the stored original needs one reader, not two; the cost is size
 * (≈ 5.6 MiB per mono minute), well inside the 10 MiB a WAV upload may be anyway.
 */
export async function stripVoice(bytes: Buffer): Promise<StrippedMedia> {
  const sniffed = await sniffVoice(bytes);
  if (sniffed.contentType === 'audio/wav') {
    const { wav } = sniffed;
    checkDuration(wav.frames / wav.sampleRate);
    const data = bytes.subarray(wav.dataOffset, wav.dataOffset + wav.dataLength);
    return { bytes: writeWav(wav.format, wav.channels, wav.sampleRate, wav.bitsPerSample, data), contentType: 'audio/wav' };
  }
  const decoded = await decodeVoice(bytes, sniffed);
  checkDuration((decoded.channels[0]?.length ?? 0) / decoded.sampleRate);
  return { bytes: floatToWav16(decoded.channels, decoded.sampleRate), contentType: 'audio/wav' };
}

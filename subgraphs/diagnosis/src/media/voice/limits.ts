/** Submit-time limits of a voice recording (issue 21, Upload › Limits). */
export const VOICE_MAX_BYTES = 10 * 1024 * 1024;
export const VOICE_MIN_SECONDS = 1;
export const VOICE_MAX_SECONDS = 60;
/** Sample rates a real recorder produces; anything outside is a header that lies. */
export const VOICE_MIN_SAMPLE_RATE = 8000;
export const VOICE_MAX_SAMPLE_RATE = 192_000;
/** The types read from the bytes that a voice recording may be (M4A/AAC is refused: see sniff.ts). */
export const VOICE_CONTENT_TYPES = ['audio/wav', 'audio/ogg; codecs=opus'] as const;
export type VoiceContentType = (typeof VOICE_CONTENT_TYPES)[number];

/** Audio decoded to floats in [-1, 1], one array per channel. */
export interface DecodedVoice {
  contentType: VoiceContentType;
  sampleRate: number;
  channels: Float32Array[];
  /** |sample| at or above this is the format's full scale: a clipped sample. */
  clipLevel: number;
}

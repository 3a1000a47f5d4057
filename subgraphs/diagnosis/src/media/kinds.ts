import type { CheckedMedia, MediaKind, StrippedMedia, TongueAnalysis, VoiceAnalysis } from './contracts.js';
import { analyseTongue, checkPhoto, PHOTO_CONTENT_TYPES, PHOTO_MAX_BYTES, stripPhoto } from './photo/index.js';
import { analyseVoice, checkVoice, stripVoice, VOICE_CONTENT_TYPES, VOICE_MAX_BYTES } from './voice/index.js';

/** What the pipeline does with one kind of media: the limits, the checks at submit, the stripping and the analysis. */
export interface MediaKindHandler {
  /** The method whose result the analysis fills. */
  method: 'INSPECTION' | 'LISTENING';
  maxBytes: number;
  /** Accepted content types, canonical (see `canonicalType`). */
  contentTypes: readonly string[];
  check(bytes: Buffer): Promise<CheckedMedia>;
  strip(bytes: Buffer): Promise<StrippedMedia>;
  analyse(bytes: Buffer): Promise<TongueAnalysis | VoiceAnalysis>;
}

export type MediaKinds = Record<MediaKind, MediaKindHandler>;

/** Aliases of one format under one name, parameters dropped: `audio/x-wav` and `audio/vnd.wave` are `audio/wav`. */
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'audio/x-wav': 'audio/wav',
  'audio/wave': 'audio/wav',
  'audio/vnd.wave': 'audio/wav',
  'audio/opus': 'audio/ogg',
  'audio/x-m4a': 'audio/mp4',
  'audio/m4a': 'audio/mp4',
  'image/heif': 'image/heic',
};

export function canonicalType(contentType: string): string {
  const bare = contentType.split(';')[0]!.trim().toLowerCase();
  return ALIASES[bare] ?? bare;
}

export const MEDIA_KINDS: MediaKinds = {
  TONGUE_PHOTO: {
    method: 'INSPECTION',
    maxBytes: PHOTO_MAX_BYTES,
    contentTypes: PHOTO_CONTENT_TYPES.map(canonicalType),
    check: checkPhoto,
    strip: stripPhoto,
    analyse: analyseTongue,
  },
  VOICE_RECORDING: {
    method: 'LISTENING',
    maxBytes: VOICE_MAX_BYTES,
    contentTypes: VOICE_CONTENT_TYPES.map(canonicalType),
    check: checkVoice,
    strip: stripVoice,
    analyse: analyseVoice,
  },
};

/** Where an upload's bytes wait for submit, and where the stripped original is kept. */
export const uploadKey = (id: string) => `uploads/${id}`;
export function originalKey(id: string, contentType: string): string {
  const extension = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/avif': 'avif', 'audio/wav': 'wav', 'audio/ogg': 'ogg' }[canonicalType(contentType)];
  return `originals/${id}${extension ? `.${extension}` : ''}`;
}

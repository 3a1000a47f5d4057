/**
 * The contracts between the parts of the media pipeline (issue 21): the store
 * that holds uploads, the checks and metadata stripping of each kind, and the
 * analyses. Each part lives in its own folder under media/ and exports these
 * shapes; service code depends on this file only.
 */

/** What an upload holds. */
export type MediaKind = 'TONGUE_PHOTO' | 'VOICE_RECORDING';

/**
 * Why a file or its content is refused: `extensions.reason` of the `BAD_USER_INPUT` the client sees.
 * Checks at submit: EMPTY … TOO_LONG. Analysis (photo): BLURRY … TONGUE_TOO_SMALL. Analysis (voice): NO_VOICE, TOO_QUIET, CLIPPED.
 */
export type MediaRefusalReason =
  | 'NOT_UPLOADED'
  | 'EMPTY'
  | 'TRUNCATED'
  | 'TOO_LARGE'
  | 'TOO_MANY_PIXELS'
  | 'UNSUPPORTED_TYPE'
  | 'TYPE_MISMATCH'
  | 'CORRUPT'
  | 'TOO_SHORT'
  | 'TOO_LONG'
  | 'BLURRY'
  | 'TOO_DARK'
  | 'TOO_BRIGHT'
  | 'NO_TONGUE'
  | 'TONGUE_TOO_SMALL'
  | 'NO_VOICE'
  | 'TOO_QUIET'
  | 'CLIPPED';

/** A refusal of a file or of its content, with a message the app can show as is. */
export class MediaRefusal extends Error {
  constructor(
    readonly reason: MediaRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = 'MediaRefusal';
  }
}

/** Bytes that passed the checks at submit: their real type, read from the bytes, and what the checks measured. */
export interface CheckedMedia {
  /** The type the bytes are, e.g. `image/jpeg`, `audio/wav`, never the declared one. */
  contentType: string;
  byteSize: number;
  width?: number;
  height?: number;
  durationSeconds?: number;
  sampleRate?: number;
}

/** A file with every metadata block removed (EXIF, GPS, XMP, ICC names, RIFF LIST/INFO…), ready to keep. */
export interface StrippedMedia {
  bytes: Buffer;
  contentType: string;
}

/** One estimated value and how sure the estimate is, 0–1. */
export interface Estimate<T> {
  value: T;
  confidence: number;
}

export type TongueBodyColourValue = 'PALE' | 'LIGHT_RED' | 'RED' | 'CRIMSON' | 'PURPLE';
export type CoatingColourValue = 'WHITE' | 'YELLOW' | 'GREY_BLACK';
export type CoatingThicknessValue = 'THIN' | 'THICK';
export type MoistureValue = 'DRY' | 'NORMAL' | 'WET';

/** What a tongue photo showed. */
export interface TongueAnalysis {
  bodyColour: Estimate<TongueBodyColourValue>;
  coatingColour: Estimate<CoatingColourValue>;
  coatingThickness: Estimate<CoatingThicknessValue>;
  moisture: Estimate<MoistureValue>;
  measures: {
    /** Width and height of the analysed image (after orientation). */
    width: number;
    height: number;
    /** Share of the image the tongue region covers, 0–1. */
    tongueAreaFraction: number;
    /** Share of the tongue region covered by coating, 0–1. */
    coatedFraction: number;
    /** Share of the tongue region that is specular highlight, 0–1. */
    specularFraction: number;
    /** Variance of the Laplacian of the luminance (higher is sharper). */
    sharpness: number;
    /** Mean luminance of the image, 0–255. */
    meanLuminance: number;
    /** Mean CIELAB of the tongue body (uncoated, non-specular pixels). */
    bodyLab: { l: number; a: number; b: number };
    /** Hue angle (degrees, 0–360) and chroma of the body's mean CIELAB. */
    bodyHueDegrees: number;
    bodyChroma: number;
    /** Mean CIELAB of the coating; null when almost nothing is coated. */
    coatingLab: { l: number; a: number; b: number } | null;
  };
}

export type VoiceVolumeValue = 'LOW' | 'NORMAL' | 'LOUD';

/** What a voice recording showed. */
export interface VoiceAnalysis {
  voiceVolume: Estimate<VoiceVolumeValue>;
  breathless: Estimate<boolean>;
  measures: {
    durationSeconds: number;
    sampleRate: number;
    /** RMS level of the voiced frames, dBFS. */
    rmsDbfs: number;
    /** Median fundamental frequency of the voiced frames, Hz; null when no frame is voiced. */
    f0Hz: number | null;
    /** Local jitter: mean absolute difference of consecutive periods over the mean period, percent. */
    jitterPercent: number | null;
    /** Local shimmer: mean absolute difference of consecutive peak amplitudes over the mean amplitude, percent. */
    shimmerPercent: number | null;
    /** Harmonics-to-noise ratio of the voiced frames, dB. */
    hnrDb: number | null;
    /** Share of frames that are voiced, 0–1. */
    voicedFraction: number;
  };
}

/** A request the client makes itself, e.g. the presigned PUT of an upload. */
export interface PresignedRequest {
  url: string;
  method: 'PUT' | 'GET';
  headers: { name: string; value: string }[];
  expiresAt: Date;
}

/**
 * Where media bytes live: an S3-compatible bucket (S3_ENDPOINT), or files under MEDIA_DIR served by this
 * subgraph at signed, expiring URLs. Keys are relative paths such as `uploads/<uploadId>`.
 */
export interface MediaStore {
  readonly kind: 'local' | 's3';
  /** A URL the client PUTs the bytes to, with the headers it must send; refuses more than `byteSize` bytes where the store can. */
  presignUpload(key: string, options: { contentType: string; byteSize: number; expiresInSeconds: number }): Promise<PresignedRequest>;
  /** A URL to GET the object, for the owner or a holder of `health:read:any`. */
  presignDownload(key: string, options: { expiresInSeconds: number; contentType: string }): Promise<PresignedRequest>;
  /** The object's bytes; undefined when absent; `MediaRefusal('TOO_LARGE')` past `maxBytes` (read no further). */
  read(key: string, maxBytes: number): Promise<Buffer | undefined>;
  write(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** Idempotent: deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Readiness of the store (bucket reachable, folder writable). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

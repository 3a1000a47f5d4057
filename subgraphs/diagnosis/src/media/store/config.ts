import { z } from '@suoke/platform';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);
/** Unset and empty both mean "not given" (compose writes `${VAR:-}` as an empty string). */
const optional = (schema: z.ZodString) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .pipe(schema.optional());

/** Where uploads live; the diagnosis config extends its env with `mediaStoreEnv.shape`. */
export const mediaStoreEnv = z.object({
  /** An S3-compatible endpoint (MinIO, AWS, R2…): set, media go to S3_BUCKET there; unset, to files under MEDIA_DIR. */
  S3_ENDPOINT: optional(z.string().url()),
  /**
   * The endpoint written into presigned URLs, when clients reach the store under another name than this
   * service does (compose: the service calls http://minio:9000, a phone or the host http://localhost:9000).
   * SigV4 signs the host, so the URL cannot be rewritten afterwards. Default: S3_ENDPOINT.
   */
  S3_PUBLIC_ENDPOINT: optional(z.string().url()),
  /** The bucket; it must exist and be private (no anonymous policy): every read goes through a presigned URL. */
  S3_BUCKET: z.string().trim().min(3).max(63).default('suoke-media'),
  S3_REGION: z.string().trim().min(1).default('us-east-1'),
  /** Static credentials; both unset, the AWS SDK's default chain (environment, profile, IRSA, instance role). */
  S3_ACCESS_KEY_ID: optional(z.string().min(1)),
  S3_SECRET_ACCESS_KEY: optional(z.string().min(1)),
  /** Path-style URLs (endpoint/bucket/key), as MinIO needs; `false` for virtual-hosted buckets (bucket.endpoint/key). */
  S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** The local store's folder (without S3_ENDPOINT); created when missing. */
  MEDIA_DIR: z.string().trim().min(1).default('.data/media'),
  /** The base URL clients reach this subgraph at, for local-store uploads and downloads. Default: http://localhost:PORT. */
  MEDIA_PUBLIC_URL: optional(z.string().url()),
  /**
   * The HMAC key of the local store's signed URLs (≥ 32 characters), the same on every replica. Required in
   * production without S3_ENDPOINT; in development a random key is made per process (URLs die with it).
   */
  MEDIA_URL_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
  /** How long a presigned upload URL stays valid. */
  MEDIA_UPLOAD_URL_TTL_SECONDS: int(10, 3_600, 300),
  /** How long a presigned download URL stays valid. */
  MEDIA_DOWNLOAD_URL_TTL_SECONDS: int(10, 3_600, 300),
});

export type MediaStoreConfig = z.infer<typeof mediaStoreEnv>;

/** Cross-variable rules, for the diagnosis config's check; the first word(s) name what to set, as loadConfig's other problems do. */
export function mediaStoreProblems(config: MediaStoreConfig & { NODE_ENV: string }): string[] {
  const problems: string[] = [];
  if (config.NODE_ENV === 'production' && !config.S3_ENDPOINT && !config.MEDIA_URL_SECRET) {
    problems.push('MEDIA_URL_SECRET or S3_ENDPOINT: required in production (the local media store signs its URLs with MEDIA_URL_SECRET, the same on every replica)');
  }
  if (!config.S3_ACCESS_KEY_ID !== !config.S3_SECRET_ACCESS_KEY) {
    problems.push('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: set both or neither (neither: the AWS SDK finds credentials itself)');
  }
  if (config.S3_PUBLIC_ENDPOINT && !config.S3_ENDPOINT) problems.push('S3_PUBLIC_ENDPOINT: only used with S3_ENDPOINT, which is not set');
  return problems;
}

import { randomBytes } from 'node:crypto';
import type { Logger } from '@suoke/platform';
import type { MediaStore } from '../contracts.js';
import type { MediaStoreConfig } from './config.js';
import { LocalMediaStore } from './local.js';
import { S3MediaStore } from './s3.js';

export { mediaStoreEnv, mediaStoreProblems, type MediaStoreConfig } from './config.js';
export { assertMediaKey, isMediaKey } from './key.js';
export { LocalMediaStore, type LocalMediaStoreOptions } from './local.js';
export { localMediaRoute, MEDIA_PATH_PREFIX, type MediaRoute } from './route.js';
export { S3MediaStore, type S3MediaStoreOptions } from './s3.js';

/** The S3 store when S3_ENDPOINT is set, the local one otherwise. */
export function createMediaStore(config: MediaStoreConfig & { PORT: number; NODE_ENV: string }, log: Logger): MediaStore {
  if (config.S3_ENDPOINT) {
    log.info({ endpoint: config.S3_ENDPOINT, bucket: config.S3_BUCKET }, 'media store: S3-compatible bucket');
    return new S3MediaStore({
      endpoint: config.S3_ENDPOINT,
      publicEndpoint: config.S3_PUBLIC_ENDPOINT,
      bucket: config.S3_BUCKET,
      region: config.S3_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      credentials:
        config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY ? { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } : undefined,
    });
  }
  let secret = config.MEDIA_URL_SECRET;
  if (!secret) {
    // The config refuses this in production; here it would sign URLs no other replica (or restart) accepts.
    if (config.NODE_ENV === 'production') throw new Error('MEDIA_URL_SECRET is required in production without S3_ENDPOINT');
    secret = randomBytes(32).toString('base64url');
    log.warn('media store: MEDIA_URL_SECRET unset, signing media URLs with a random per-process key (they stop working at restart)');
  }
  log.info({ dir: config.MEDIA_DIR }, 'media store: local folder');
  return new LocalMediaStore({ dir: config.MEDIA_DIR, publicUrl: config.MEDIA_PUBLIC_URL ?? `http://localhost:${config.PORT}`, secret });
}

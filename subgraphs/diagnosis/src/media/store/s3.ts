import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client, S3ServiceException, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { MediaRefusal, type MediaStore, type PresignedRequest } from '../contracts.js';
import { assertMediaKey } from './key.js';

export interface S3MediaStoreOptions {
  /** Where this service reaches the store. */
  endpoint: string;
  /** Where clients reach it: the host presigned URLs are signed for (SigV4 signs the host). Default: `endpoint`. */
  publicEndpoint?: string | undefined;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  /** Both, or none for the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/**
 * Media in an S3-compatible bucket, uploaded and downloaded by the client itself at presigned URLs. Objects are
 * written with no ACL, so they stay as private as the bucket is.
 */
export class S3MediaStore implements MediaStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;
  /** Signs only (no request is sent with it): the same settings with the endpoint clients use. */
  private readonly presigner: S3Client;
  private readonly bucket: string;

  constructor(options: S3MediaStoreOptions) {
    const common: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // Recent SDKs otherwise add a CRC32 of the (empty, at signing time) body to presigned PUTs, which then fail
      // for every real body; and validate checksums on reads that S3-compatible stores may not send.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    this.client = new S3Client({ ...common, endpoint: options.endpoint });
    this.presigner = options.publicEndpoint && options.publicEndpoint !== options.endpoint ? new S3Client({ ...common, endpoint: options.publicEndpoint }) : this.client;
    this.bucket = options.bucket;
  }

  async presignUpload(key: string, options: { contentType: string; byteSize: number; expiresInSeconds: number }): Promise<PresignedRequest> {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: assertMediaKey(key), ContentType: options.contentType, ContentLength: options.byteSize });
    // Signing both headers makes the store refuse another type, and any size but the declared one.
    const url = await getSignedUrl(this.presigner, command, { expiresIn: options.expiresInSeconds, signableHeaders: new Set(['content-type', 'content-length']) });
    return {
      url,
      method: 'PUT',
      headers: [
        { name: 'content-type', value: options.contentType },
        { name: 'content-length', value: String(options.byteSize) },
      ],
      expiresAt: expiresAt(options.expiresInSeconds),
    };
  }

  async presignDownload(key: string, options: { expiresInSeconds: number; contentType: string }): Promise<PresignedRequest> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: assertMediaKey(key),
      ResponseContentType: options.contentType,
      ResponseContentDisposition: 'attachment',
      ResponseCacheControl: 'private, no-store',
    });
    const url = await getSignedUrl(this.presigner, command, { expiresIn: options.expiresInSeconds });
    return { url, method: 'GET', headers: [], expiresAt: expiresAt(options.expiresInSeconds) };
  }

  async read(key: string, maxBytes: number): Promise<Buffer | undefined> {
    const abort = new AbortController();
    let response;
    try {
      response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: assertMediaKey(key) }), { abortSignal: abort.signal });
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
    const body = response.Body as Readable | undefined;
    if (!body) return Buffer.alloc(0);
    const refuse = () => {
      // Stops the transfer: the rest of an oversize object is never downloaded.
      abort.abort();
      body.destroy();
      return new MediaRefusal('TOO_LARGE', `The file is larger than ${maxBytes} bytes`);
    };
    if (response.ContentLength !== undefined && response.ContentLength > maxBytes) throw refuse();
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > maxBytes) throw refuse();
      chunks.push(chunk);
    }
    return Buffer.concat(chunks, length);
  }

  async write(key: string, bytes: Buffer, contentType: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: assertMediaKey(key), Body: bytes, ContentType: contentType, ContentLength: bytes.length }));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: assertMediaKey(key) }));
    } catch (error) {
      // S3 answers 204 for an absent key; some compatible stores answer NoSuchKey.
      if (!isAbsent(error)) throw error;
    }
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  async close(): Promise<void> {
    this.client.destroy();
    if (this.presigner !== this.client) this.presigner.destroy();
  }
}

function isAbsent(error: unknown): boolean {
  return error instanceof S3ServiceException && (error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404);
}

function expiresAt(seconds: number): Date {
  return new Date(Date.now() + seconds * 1000);
}

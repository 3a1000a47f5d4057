import { randomUUID } from 'node:crypto';
import { constants, createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { access, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MediaRefusal, type MediaStore, type PresignedRequest } from '../contracts.js';
import { assertMediaKey, signGrant, verifyGrant, type LocalGrant } from './key.js';

export interface LocalMediaStoreOptions {
  /** The folder holding the files (created when missing). */
  dir: string;
  /** Base URL clients reach this subgraph at; signed URLs are `<publicUrl>/media/<key>?…`. */
  publicUrl: string;
  /** HMAC key of the signed URLs. */
  secret: string;
}

/** A MIME type as a client may declare it: no parameters, nothing that could smuggle a header or a newline. */
const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;

export type GrantCheck = { ok: true; grant: LocalGrant } | { ok: false; reason: 'invalid' | 'expired' };

class TooLarge extends Error {}

/**
 * Files under one folder, served by this subgraph at signed, expiring URLs (route.ts). Every write goes to a
 * temp file in the object's own folder (same filesystem), is fsynced and renamed over the final name: a reader
 * sees the old bytes or the new ones, never part of either. Temp names (`<name>.<uuid>.tmp`) are never valid keys.
 */
export class LocalMediaStore implements MediaStore {
  readonly kind = 'local' as const;
  private readonly dir: string;
  private publicUrl: string;

  constructor(private readonly options: LocalMediaStoreOptions) {
    this.dir = path.resolve(options.dir);
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
  }

  /**
   * The base URL of signed URLs once this process listens, for a store configured without MEDIA_PUBLIC_URL: the
   * port bound (a port of 0 picks one) is known only then.
   */
  listeningAt(baseUrl: string): void {
    this.publicUrl = baseUrl.replace(/\/+$/, '');
  }

  async presignUpload(key: string, options: { contentType: string; byteSize: number; expiresInSeconds: number }): Promise<PresignedRequest> {
    if (!Number.isSafeInteger(options.byteSize) || options.byteSize < 0) throw new Error('byteSize must be a non-negative integer');
    const ct = contentType(options.contentType);
    return this.presign({ method: 'PUT', key: assertMediaKey(key), exp: expiry(options.expiresInSeconds), max: options.byteSize, ct }, [{ name: 'content-type', value: ct }]);
  }

  async presignDownload(key: string, options: { expiresInSeconds: number; contentType: string }): Promise<PresignedRequest> {
    const ct = contentType(options.contentType);
    return this.presign({ method: 'GET', key: assertMediaKey(key), exp: expiry(options.expiresInSeconds), ct }, []);
  }

  private presign(grant: LocalGrant, headers: PresignedRequest['headers']): PresignedRequest {
    const query = new URLSearchParams({ exp: String(grant.exp), ...(grant.max === undefined ? {} : { max: String(grant.max) }), ct: grant.ct });
    query.set('sig', signGrant(this.options.secret, grant));
    return { url: `${this.publicUrl}/media/${grant.key}?${query}`, method: grant.method, headers, expiresAt: new Date(grant.exp * 1000) };
  }

  /** Whether `query` (of a request to /media/<key>) grants `method` on `key` now. */
  checkGrant(method: 'PUT' | 'GET', key: string, query: URLSearchParams, now = Date.now()): GrantCheck {
    const exp = Number(query.get('exp'));
    const maxText = query.get('max');
    const max = maxText === null ? undefined : Number(maxText);
    const ct = query.get('ct') ?? '';
    const sig = query.get('sig') ?? '';
    if (!Number.isSafeInteger(exp) || (max !== undefined && !Number.isSafeInteger(max)) || (method === 'PUT') !== (max !== undefined)) return { ok: false, reason: 'invalid' };
    const grant: LocalGrant = { method, key, exp, max, ct };
    if (!verifyGrant(this.options.secret, grant, sig)) return { ok: false, reason: 'invalid' };
    // Checked after the signature, so that an expiry is only reported for a URL we really issued.
    if (exp * 1000 <= now) return { ok: false, reason: 'expired' };
    return { ok: true, grant };
  }

  async read(key: string, maxBytes: number): Promise<Buffer | undefined> {
    const handle = await open(this.pathOf(key), 'r').catch(absentAsUndefined);
    if (!handle) return undefined;
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) throw tooLarge(maxBytes);
      // Read at most maxBytes + 1: a file growing under us is caught without reading it all.
      const buffer = Buffer.alloc(Math.min(size, maxBytes) + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > maxBytes) throw tooLarge(maxBytes);
      return buffer.subarray(0, length);
    } finally {
      await handle.close();
    }
  }

  async write(key: string, bytes: Buffer, _contentType: string): Promise<void> {
    await this.atomically(key, async (temp) => {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
  }

  /** Streams `body` into place; resolves 'too-large' (nothing kept) as soon as it passes `maxBytes`. */
  async receive(key: string, body: Readable, maxBytes: number): Promise<'stored' | 'too-large'> {
    try {
      await this.atomically(key, async (temp) => {
        // Not pipeline(body, …): on error it would destroy the request, and with it the socket the 413 goes out on.
        const limited = async function* () {
          let seen = 0;
          for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
            seen += chunk.length;
            if (seen > maxBytes) throw new TooLarge();
            yield chunk;
          }
        };
        // flush: fsync before the close that pipeline waits for, so the rename publishes bytes that are on disk.
        await pipeline(limited, createWriteStream(temp, { flags: 'wx', flush: true }));
      });
      return 'stored';
    } catch (error) {
      if (error instanceof TooLarge) return 'too-large';
      throw error;
    }
  }

  /** The file as a stream with its size; undefined when absent. */
  async openForRead(key: string): Promise<{ stream: ReadStream; size: number } | undefined> {
    const handle = await open(this.pathOf(key), 'r').catch(absentAsUndefined);
    if (!handle) return undefined;
    const { size } = await handle.stat();
    return { stream: createReadStream('', { fd: handle, autoClose: true }), size };
  }

  async delete(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch(absentAsUndefined);
  }

  async ping(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await access(this.dir, constants.W_OK);
  }

  async close(): Promise<void> {}

  private pathOf(key: string): string {
    return path.join(this.dir, assertMediaKey(key));
  }

  /** Runs `fill` on a fresh temp file beside the object, then renames it into place; the temp file never outlives a failure. */
  private async atomically(key: string, fill: (temp: string) => Promise<void>): Promise<void> {
    const target = this.pathOf(key);
    const folder = path.dirname(target);
    await mkdir(folder, { recursive: true });
    const temp = `${target}.${randomUUID()}.tmp`;
    try {
      await fill(temp);
      await rename(temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    // The rename itself is durable only once the folder's entry is on disk.
    const dir = await open(folder, 'r');
    await dir.sync().finally(() => dir.close());
  }
}

function contentType(value: string): string {
  const type = value.trim().toLowerCase();
  if (!CONTENT_TYPE.test(type)) throw new Error('contentType must be a MIME type such as image/jpeg');
  return type;
}

function expiry(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error('expiresInSeconds must be positive');
  return Math.floor(Date.now() / 1000) + Math.ceil(seconds);
}

function tooLarge(maxBytes: number): MediaRefusal {
  return new MediaRefusal('TOO_LARGE', `The file is larger than ${maxBytes} bytes`);
}

function absentAsUndefined(error: unknown): undefined {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw error;
}

// The S3 media store (issue 21) against s3rver 3.7.1, an in-process S3-compatible server from the npm registry:
// presigned PUT with plain fetch, read, presigned GET, delete, the read limit and absent keys. Also the choice of
// store from the environment and the config's cross-checks.
//
// What s3rver 3.7.1 enforces, read from its lib/middleware/authentication.js and checked below: an unknown access
// key id (403 InvalidAccessKeyId) and the expiry of a presigned V4 URL (X-Amz-Date + X-Amz-Expires, 403 AccessDenied).
// What it does NOT check ("Signature version 4 calculation is unimplemented"): the V4 signature itself, so neither
// a tampered signature nor the signed content-type / content-length, nor bucket privacy (anonymous requests are
// served). Those are the real store's job (MinIO, S3): here we assert that our URLs sign them, not that they hold.
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@suoke/platform';
import { MediaRefusal } from '../src/media/contracts.js';
import { createMediaStore, LocalMediaStore, mediaStoreEnv, mediaStoreProblems, S3MediaStore, type S3MediaStoreOptions } from '../src/media/store/index.js';

const log = createLogger({ service: 'media-store-s3-test', level: 'silent', format: 'json' });
const BUCKET = 'suoke-media';
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
let dir: string;
let server: S3rver;
let options: S3MediaStoreOptions;
let store: S3MediaStore;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-s3-'));
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  const { port } = (await server.run()) as AddressInfo;
  options = { endpoint: `http://127.0.0.1:${port}`, bucket: BUCKET, region: 'us-east-1', forcePathStyle: true, credentials };
  const admin = new S3Client({ endpoint: options.endpoint, region: options.region, forcePathStyle: true, credentials });
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  admin.destroy();
  store = new S3MediaStore(options);
});
afterAll(async () => {
  await store?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

const headersOf = (list: { name: string; value: string }[]) => Object.fromEntries(list.map((h) => [h.name, h.value]));
const jpeg = (size: number) => Buffer.alloc(size, 0xab);

describe('S3 media store against s3rver', () => {
  it('round-trips a presigned PUT, a read, a presigned GET and a delete', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
    const bytes = jpeg(30_000);
    const upload = await store.presignUpload('uploads/s3-round-trip', { contentType: 'image/jpeg', byteSize: bytes.length, expiresInSeconds: 120 });
    expect(upload.method).toBe('PUT');
    expect(upload.headers).toEqual([
      { name: 'content-type', value: 'image/jpeg' },
      { name: 'content-length', value: '30000' },
    ]);
    const url = new URL(upload.url);
    expect(url.origin).toBe(options.endpoint);
    expect(url.pathname).toBe(`/${BUCKET}/uploads/s3-round-trip`);
    // The type and size are signed (the store refuses others); no checksum of an empty body rides along.
    expect(url.searchParams.get('X-Amz-SignedHeaders')?.split(';').sort()).toEqual(['content-length', 'content-type', 'host']);
    expect([...url.searchParams.keys()].filter((k) => /checksum/i.test(k))).toEqual([]);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(120);

    const put = await fetch(upload.url, { method: 'PUT', headers: headersOf(upload.headers), body: bytes });
    expect(put.status).toBe(200);
    expect((await store.read('uploads/s3-round-trip', 30_000))?.equals(bytes)).toBe(true);

    const download = await store.presignDownload('uploads/s3-round-trip', { expiresInSeconds: 60, contentType: 'image/jpeg' });
    expect(download.method).toBe('GET');
    const got = await fetch(download.url);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/jpeg');
    expect(got.headers.get('content-disposition')).toBe('attachment');
    expect(got.headers.get('cache-control')).toBe('private, no-store');
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);

    await store.delete('uploads/s3-round-trip');
    expect(await store.read('uploads/s3-round-trip', 30_000)).toBeUndefined();
    await expect(store.delete('uploads/s3-round-trip')).resolves.toBeUndefined();
  });

  it('refuses a read past maxBytes with TOO_LARGE and answers undefined for an absent key', async () => {
    await store.write('uploads/s3-large', jpeg(64 * 1024), 'image/jpeg');
    const refusal = await store.read('uploads/s3-large', 1_000).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MediaRefusal);
    expect((refusal as MediaRefusal).reason).toBe('TOO_LARGE');
    expect((await store.read('uploads/s3-large', 64 * 1024))?.length).toBe(64 * 1024);
    expect(await store.read('uploads/never-written', 1_000)).toBeUndefined();
    await expect(store.read('../escape', 10)).rejects.toThrow(/Invalid media key/);
    await store.delete('uploads/s3-large');
  });

  it('signs URLs for the public endpoint while talking to the internal one', async () => {
    const split = new S3MediaStore({ ...options, publicEndpoint: 'http://media.example:9000' });
    const upload = await split.presignUpload('uploads/public', { contentType: 'audio/wav', byteSize: 10, expiresInSeconds: 60 });
    expect(new URL(upload.url).origin).toBe('http://media.example:9000');
    await split.write('uploads/public', jpeg(10), 'audio/wav');
    expect((await split.read('uploads/public', 10))?.length).toBe(10);
    await split.delete('uploads/public');
    await split.close();
  });

  it('is refused by s3rver for an expired URL, an unknown access key and a missing bucket', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3_600_000);
    const expired = await store.presignUpload('uploads/s3-expired', { contentType: 'image/jpeg', byteSize: 5, expiresInSeconds: 60 });
    vi.useRealTimers();
    const late = await fetch(expired.url, { method: 'PUT', headers: headersOf(expired.headers), body: jpeg(5) });
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('<Code>AccessDenied</Code>');

    const stranger = new S3MediaStore({ ...options, credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'x' } });
    const forged = await stranger.presignUpload('uploads/s3-stranger', { contentType: 'image/jpeg', byteSize: 5, expiresInSeconds: 60 });
    const refused = await fetch(forged.url, { method: 'PUT', headers: headersOf(forged.headers), body: jpeg(5) });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('<Code>InvalidAccessKeyId</Code>');
    await stranger.close();
    expect(await store.read('uploads/s3-expired', 10)).toBeUndefined();
    expect(await store.read('uploads/s3-stranger', 10)).toBeUndefined();

    const nowhere = new S3MediaStore({ ...options, bucket: 'no-such-bucket' });
    await expect(nowhere.ping()).rejects.toThrow();
    await nowhere.close();
  });

  it('records that s3rver 3.7.1 does not verify V4 signatures (a tampered one is accepted)', async () => {
    const upload = await store.presignUpload('uploads/s3-tampered', { contentType: 'image/jpeg', byteSize: 5, expiresInSeconds: 60 });
    const url = new URL(upload.url);
    url.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    // MinIO and S3 answer 403 SignatureDoesNotMatch here. If this starts failing, s3rver has begun to check: assert 403.
    const res = await fetch(url, { method: 'PUT', headers: headersOf(upload.headers), body: jpeg(5) });
    expect(res.status).toBe(200);
    await store.delete('uploads/s3-tampered');
  });
});

describe('choosing and configuring the store', () => {
  const parse = (env: Record<string, string>) => mediaStoreEnv.parse(env);

  it('picks S3 when S3_ENDPOINT is set and the local folder otherwise', async () => {
    const s3 = createMediaStore({ ...parse({ S3_ENDPOINT: options.endpoint, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER' }), PORT: 4005, NODE_ENV: 'test' }, log);
    expect(s3).toBeInstanceOf(S3MediaStore);
    await expect(s3.ping()).resolves.toBeUndefined();
    await s3.close();
    const local = createMediaStore({ ...parse({ MEDIA_DIR: path.join(dir, 'local') }), PORT: 4005, NODE_ENV: 'test' }, log);
    expect(local).toBeInstanceOf(LocalMediaStore);
    const upload = await local.presignUpload('uploads/x', { contentType: 'image/png', byteSize: 1, expiresInSeconds: 60 });
    expect(upload.url.startsWith('http://localhost:4005/media/uploads/x?')).toBe(true);
  });

  it('has documented defaults and refuses what cannot work', () => {
    const defaults = parse({});
    expect(defaults).toMatchObject({ S3_BUCKET: 'suoke-media', S3_REGION: 'us-east-1', S3_FORCE_PATH_STYLE: true, MEDIA_DIR: '.data/media' });
    expect(defaults).toMatchObject({ MEDIA_UPLOAD_URL_TTL_SECONDS: 300, MEDIA_DOWNLOAD_URL_TTL_SECONDS: 300 });
    expect(defaults.S3_ENDPOINT).toBeUndefined();
    expect(parse({ S3_ENDPOINT: '', S3_FORCE_PATH_STYLE: 'false' })).toMatchObject({ S3_ENDPOINT: undefined, S3_FORCE_PATH_STYLE: false });
    expect(mediaStoreEnv.safeParse({ MEDIA_URL_SECRET: 'too-short' }).success).toBe(false);
    expect(mediaStoreEnv.safeParse({ S3_ENDPOINT: 'not a url' }).success).toBe(false);

    expect(mediaStoreProblems({ ...defaults, NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^MEDIA_URL_SECRET or S3_ENDPOINT: required in production/)]);
    expect(mediaStoreProblems({ ...parse({ MEDIA_URL_SECRET: 'x'.repeat(32) }), NODE_ENV: 'production' })).toEqual([]);
    expect(mediaStoreProblems({ ...parse({ S3_ENDPOINT: 'http://minio:9000' }), NODE_ENV: 'production' })).toEqual([]);
    expect(mediaStoreProblems({ ...defaults, NODE_ENV: 'development' })).toEqual([]);
    expect(mediaStoreProblems({ ...parse({ S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY_ID: 'a' }), NODE_ENV: 'development' })).toEqual([expect.stringMatching(/^S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY/)]);
    expect(() => createMediaStore({ ...defaults, PORT: 4005, NODE_ENV: 'production' }, log)).toThrow(/MEDIA_URL_SECRET/);
  });
});

// The local media store over real HTTP (issue 21): presigned PUT and GET with plain fetch through the platform's
// HTTP front (its prefixRoutes option), refusals of bad signatures, sizes and types, traversal keys, and atomic
// replacement (a reader never sees part of an upload).
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createHttpServer, createLogger } from '@suoke/platform';
import { until } from '@suoke/platform/testing';
import { MediaRefusal } from '../src/media/contracts.js';
import { LocalMediaStore, localMediaRoute, type MediaRoute } from '../src/media/store/index.js';

const log = createLogger({ service: 'media-store-test', level: 'silent', format: 'json' });
const APP_ORIGIN = 'https://app.example';
let dir: string;
let store: LocalMediaStore;
let base: string;
let apollo: ApolloServer;
let front: ReturnType<typeof createHttpServer>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'media-store-'));
  apollo = new ApolloServer({ typeDefs: 'type Query { ok: Boolean }', resolvers: { Query: { ok: () => true } } });
  await apollo.start();
  // Filled once the port is known: the store signs URLs with the address clients reach.
  const prefixRoutes: MediaRoute[] = [];
  front = createHttpServer({
    apollo,
    context: async () => ({}),
    ready: async () => true,
    log,
    maxBodyBytes: 1_000,
    // Stands for the gateway-secret guard: it must not apply to the media routes.
    guard: () => ({ status: 401, message: 'Only the gateway may call this subgraph', code: 'UNAUTHENTICATED' }),
    prefixRoutes,
  });
  const port = await front.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${port}`;
  store = new LocalMediaStore({ dir, publicUrl: base, secret: randomBytes(32).toString('hex') });
  prefixRoutes.push(localMediaRoute(store, { cors: { origins: new Set([APP_ORIGIN]), credentials: false, maxAgeSeconds: 60 } }));
});
afterEach(() => vi.restoreAllMocks());
afterAll(async () => {
  await new Promise((resolve) => front?.server.close(resolve));
  await apollo?.stop();
  await rm(dir, { recursive: true, force: true });
});

const headersOf = (list: { name: string; value: string }[]) => Object.fromEntries(list.map((h) => [h.name, h.value]));
const filesIn = async (folder: string) => readdir(path.join(dir, folder)).catch(() => [] as string[]);
const upload = (key: string, bytes: Buffer, contentType = 'image/jpeg', byteSize = bytes.length) =>
  store.presignUpload(key, { contentType, byteSize, expiresInSeconds: 60 });

async function put(key: string, bytes: Buffer, contentType = 'image/jpeg') {
  const presigned = await upload(key, bytes, contentType);
  return fetch(presigned.url, { method: presigned.method, headers: headersOf(presigned.headers), body: bytes });
}

/** A PUT over a raw socket: chunked (no content-length), the body written by `send`; resolves with the status, if one came. */
function rawPut(url: string, contentType: string, send: (req: http.ClientRequest) => Promise<void>): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'PUT', headers: { 'content-type': contentType } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    // The server may close while we are still writing: that is the refusal, and the status may not arrive.
    req.on('error', () => resolve(undefined));
    send(req).catch(reject);
  });
}

describe('platform createHttpServer prefixRoutes', () => {
  it('routes every method under the prefix to the handler, bypassing the guard, and leaves the other paths alone', async () => {
    const graphql = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ ok }"}' });
    expect(graphql.status).toBe(401);
    expect((await fetch(`${base}/elsewhere`)).status).toBe(404);
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const media = await fetch(`${base}/media/uploads/nothing-here`, { method: 'DELETE' });
    expect(media.status).toBe(405);
    expect(media.headers.get('allow')).toBe('GET, PUT, OPTIONS');
    expect(media.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('local media store over HTTP', () => {
  it('round-trips a presigned PUT and GET', async () => {
    const bytes = randomBytes(50_000);
    const presigned = await upload('uploads/round-trip', bytes);
    expect(presigned.method).toBe('PUT');
    expect(presigned.headers).toEqual([{ name: 'content-type', value: 'image/jpeg' }]);
    expect(presigned.url).toMatch(new RegExp(`^${base}/media/uploads/round-trip\\?exp=\\d+&max=50000&ct=image%2Fjpeg&sig=[\\w-]+$`));
    expect(presigned.expiresAt.getTime()).toBeGreaterThan(Date.now());
    const stored = await fetch(presigned.url, { method: 'PUT', headers: headersOf(presigned.headers), body: bytes });
    expect(stored.status).toBe(204);
    expect((await store.read('uploads/round-trip', 50_000))?.equals(bytes)).toBe(true);

    const download = await store.presignDownload('uploads/round-trip', { expiresInSeconds: 60, contentType: 'image/jpeg' });
    expect(download.method).toBe('GET');
    const got = await fetch(download.url);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('image/jpeg');
    expect(got.headers.get('cache-control')).toBe('private, no-store');
    expect(got.headers.get('content-disposition')).toBe('attachment');
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('refuses expired and tampered URLs with 403 FORBIDDEN, naming no path', async () => {
    const bytes = randomBytes(100);
    // Issued an hour ago with a 60 s lifetime.
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now - 3_600_000);
    const expired = await upload('uploads/expired', bytes);
    vi.restoreAllMocks();
    const old = await fetch(expired.url, { method: 'PUT', headers: headersOf(expired.headers), body: bytes });
    expect(old.status).toBe(403);
    expect(await old.json()).toEqual({ errors: [{ message: 'This media URL has expired; ask for a new one', extensions: { code: 'FORBIDDEN' } }] });

    const good = await upload('uploads/tampered', bytes);
    const tamper = (edit: (url: URL) => void) => {
      const url = new URL(good.url);
      edit(url);
      return url.toString();
    };
    const forged = [
      tamper((u) => u.searchParams.set('max', '99999999')),
      tamper((u) => u.searchParams.set('exp', String(Number(u.searchParams.get('exp')) + 3_600))),
      tamper((u) => u.searchParams.set('sig', u.searchParams.get('sig')!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')))),
      tamper((u) => u.searchParams.delete('sig')),
      tamper((u) => (u.pathname = '/media/uploads/other')),
    ];
    for (const url of forged) {
      const res = await fetch(url, { method: 'PUT', headers: headersOf(good.headers), body: bytes });
      expect(res.status, url).toBe(403);
      const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(body.errors[0]!.extensions.code).toBe('FORBIDDEN');
      expect(body.errors[0]!.message).not.toContain(dir);
    }
    // A signed upload is no download, and the reverse.
    expect((await fetch(good.url)).status).toBe(403);
    await put('uploads/readable', bytes);
    const download = await store.presignDownload('uploads/readable', { expiresInSeconds: 60, contentType: 'image/jpeg' });
    expect((await fetch(download.url, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: bytes })).status).toBe(403);
    expect(await filesIn('uploads')).not.toContain('tampered');
  });

  it('refuses an upload past its signed size with 413, keeping no file and no temp file', async () => {
    const presigned = await upload('uploads/oversize', randomBytes(10), 'image/png', 1_000);
    // Declared too large: refused before a byte is read.
    const declared = await fetch(presigned.url, { method: 'PUT', headers: headersOf(presigned.headers), body: randomBytes(1_001) });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    // Chunked, no length given: cut while streaming.
    const status = await rawPut(presigned.url, 'image/png', async (req) => {
      for (let i = 0; i < 20 && !req.destroyed; i += 1) {
        req.write(randomBytes(200));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      req.end();
    });
    // The 413 is sent before the close; a reset racing the client's own writes may still hide it from the client.
    expect([413, undefined]).toContain(status);
    expect(await filesIn('uploads')).not.toEqual(expect.arrayContaining([expect.stringMatching(/^oversize/)]));
    expect(await store.read('uploads/oversize', 10_000)).toBeUndefined();
  });

  it('refuses a content type other than the signed one with 400', async () => {
    const bytes = randomBytes(100);
    const presigned = await upload('uploads/wrong-type', bytes, 'audio/wav');
    const res = await fetch(presigned.url, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: bytes });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errors: { message: string }[] }).errors[0]!.message).toBe('Content-Type must be audio/wav, as the upload was signed for');
    expect(await store.read('uploads/wrong-type', 1_000)).toBeUndefined();
  });

  it('refuses keys that could leave the folder, in the store and on the route', async () => {
    for (const key of ['../outside', 'uploads/../../etc/passwd', 'uploads/a/b', '/etc/passwd', 'uploads/..', 'Uploads/x', 'uploads/x.y.z', 'uploads/']) {
      await expect(store.presignUpload(key, { contentType: 'image/png', byteSize: 1, expiresInSeconds: 60 }), key).rejects.toThrow(/Invalid media key/);
      await expect(store.read(key, 10), key).rejects.toThrow(/Invalid media key/);
      await expect(store.write(key, Buffer.from('x'), 'image/png'), key).rejects.toThrow(/Invalid media key/);
      await expect(store.delete(key), key).rejects.toThrow(/Invalid media key/);
    }
    for (const pathname of ['/media/..%2F..%2Fetc%2Fpasswd', '/media/uploads%2F..%2F..%2Fsecret', '/media/uploads/%E0%A4%A', '/media/']) {
      const res = await fetch(`${base}${pathname}?exp=9999999999&ct=image%2Fpng&sig=x`);
      expect(res.status, pathname).toBe(404);
    }
  });

  it('replaces an object atomically: while a new upload streams in, readers get the whole old file', async () => {
    const first = randomBytes(4_000);
    expect((await put('uploads/replaced', first)).status).toBe(204);
    const second = randomBytes(4_000);
    const presigned = await upload('uploads/replaced', second);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const status = rawPut(presigned.url, 'image/jpeg', async (req) => {
      req.write(second.subarray(0, 2_000));
      await released;
      req.end(second.subarray(2_000));
    });
    await until('the upload to reach a temp file', async () => ((await filesIn('uploads')).some((f) => f.startsWith('replaced.') && f.endsWith('.tmp')) ? true : undefined));
    expect((await store.read('uploads/replaced', 10_000))?.equals(first)).toBe(true);
    release();
    expect(await status).toBe(204);
    expect((await store.read('uploads/replaced', 10_000))?.equals(second)).toBe(true);
    expect((await filesIn('uploads')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('reads within a limit, refuses past it, and treats absent keys as absent', async () => {
    await store.write('derived/limited.png', randomBytes(2_048), 'image/png');
    expect((await store.read('derived/limited.png', 2_048))?.length).toBe(2_048);
    const refusal = await store.read('derived/limited.png', 2_047).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(MediaRefusal);
    expect((refusal as MediaRefusal).reason).toBe('TOO_LARGE');
    await store.delete('derived/limited.png');
    await store.delete('derived/limited.png');
    expect(await store.read('derived/limited.png', 10)).toBeUndefined();
    const download = await store.presignDownload('derived/limited.png', { expiresInSeconds: 60, contentType: 'image/png' });
    expect((await fetch(download.url)).status).toBe(404);
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('answers a browser preflight for PUT from an allowed origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/media/uploads/cors`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' } });
    const allowed = await preflight(APP_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(allowed.headers.get('access-control-allow-headers')).toBe('content-type');
    const other = await preflight('https://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const bytes = randomBytes(10);
    const presigned = await upload('uploads/cors', bytes);
    const res = await fetch(presigned.url, { method: 'PUT', headers: { ...headersOf(presigned.headers), origin: APP_ORIGIN }, body: bytes });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
  });
});

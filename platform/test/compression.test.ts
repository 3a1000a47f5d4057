// Compression at the HTTP front, over real sockets: responses compressed when
// accepted and large enough, never for streams; compressed request bodies
// capped after decompression, so a zip bomb is refused without inflating it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import type { ApolloServer, BaseContext } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseEncoding } from '../src/compression.js';
import { createHttpServer } from '../src/http.js';
import { DEFAULT_EDGE } from '../src/http-edge.js';
import type { Subgraph } from '../src/subgraph/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';
import { BIG, gql, log, raw, startEdge, type Started } from './edge-helpers.js';

const MAX_BODY_BYTES = 1_048_576;
let db: TestDatabase;
const running: Subgraph<object>[] = [];
let on: Started;

beforeAll(async () => {
  db = await createTestDatabase('compression');
  on = await startEdge(db, { MAX_BODY_BYTES: String(MAX_BODY_BYTES) }, running);
});
afterAll(async () => {
  for (const subgraph of running) await subgraph.stop();
  await db?.drop();
});

const decode = { br: zlib.brotliDecompressSync, gzip: zlib.gunzipSync } as const;

describe('response compression', () => {
  it.each(['br', 'gzip'] as const)('compresses a large answer with %s when the client accepts it', async (encoding) => {
    const res = await raw(on.port, gql('{ big }', { 'accept-encoding': encoding }));
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe(encoding);
    expect(res.headers.vary).toMatch(/Accept-Encoding/);
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(res.body.length).toBeLessThan(BIG.length / 10);
    expect(JSON.parse(decode[encoding](res.body).toString())).toEqual({ data: { big: BIG } });
  });

  it('prefers gzip at equal weight, honours weights and q=0, and sends identity when nothing acceptable is offered', async () => {
    expect(chooseEncoding('gzip, deflate, br')).toBe('gzip');
    expect(chooseEncoding('br')).toBe('br');
    expect(chooseEncoding('br;q=1, gzip;q=0.8')).toBe('br');
    expect(chooseEncoding('br;q=0, gzip')).toBe('gzip');
    expect(chooseEncoding('gzip;q=0, br')).toBe('br');
    expect(chooseEncoding('gzip;q=0.5, br;q=0.2')).toBe('gzip');
    expect(chooseEncoding('*')).toBe('gzip');
    expect(chooseEncoding('identity')).toBeUndefined();
    expect(chooseEncoding(undefined)).toBeUndefined();
    const plain = await raw(on.port, gql('{ big }', { 'accept-encoding': 'identity' }));
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(plain.body.toString())).toEqual({ data: { big: BIG } });
  });

  it('leaves answers under COMPRESSION_MIN_BYTES as they are', async () => {
    const res = await raw(on.port, gql('{ hello }', { 'accept-encoding': 'gzip, br' }));
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(res.body.toString())).toEqual({ data: { hello: 'world' } });
  });

  it('compresses nothing with COMPRESSION=off', async () => {
    const off = await startEdge(db, { COMPRESSION: 'off' }, running);
    const res = await raw(off.port, gql('{ big }', { 'accept-encoding': 'gzip, br' }));
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body.length).toBeGreaterThan(BIG.length);
  });
});

describe('streaming responses are never compressed', () => {
  let port: number;
  let releaseSecond: () => void = () => {};
  let server: http.Server;

  beforeAll(async () => {
    const part = (n: number) => `\r\n--graphql\r\ncontent-type: application/json\r\n\r\n${JSON.stringify({ data: { n, pad: 'x'.repeat(4_000) } })}\r\n`;
    // A stand-in for Apollo Server: what its incremental delivery (and an SSE answer) hands the HTTP front.
    const apollo = {
      executeHTTPGraphQLRequest: async ({ httpGraphQLRequest }: { httpGraphQLRequest: { search: string } }) => {
        const headers = new HeaderMap();
        if (httpGraphQLRequest.search.includes('sse')) {
          headers.set('content-type', 'text/event-stream');
          return { status: 200, headers, body: { kind: 'complete', string: `data: ${'y'.repeat(5_000)}\n\n` } };
        }
        headers.set('content-type', 'multipart/mixed; boundary="graphql"; deferSpec=20220824');
        const second = new Promise<void>((resolve) => {
          releaseSecond = resolve;
        });
        async function* parts() {
          yield part(1);
          await second;
          yield `${part(2)}--graphql--\r\n`;
        }
        return { status: 200, headers, body: { kind: 'chunked', asyncIterator: parts() } };
      },
    } as unknown as ApolloServer<BaseContext>;
    const front = createHttpServer<BaseContext>({ apollo, context: async () => ({}), ready: async () => true, log, maxBodyBytes: 1_000, edge: DEFAULT_EDGE });
    server = front.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('flushes each multipart/mixed part as it is produced, uncompressed', async () => {
    const first = await new Promise<{ headers: http.IncomingHttpHeaders; text: string; rest: Promise<string> }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/graphql?query=%7Bx%7D', headers: { 'accept-encoding': 'gzip, br' }, agent: false }, (res) => {
        let text = '';
        let resolved = false;
        const rest = new Promise<string>((done) => res.on('end', () => done(text)));
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (!resolved && text.includes('"n":1')) {
            resolved = true;
            resolve({ headers: res.headers, text, rest });
          }
        });
      });
      req.on('error', reject);
    });
    // The first part arrived while the second does not exist yet: nothing buffered it.
    expect(first.headers['content-encoding']).toBeUndefined();
    expect(first.headers['content-type']).toMatch(/^multipart\/mixed/);
    expect(first.text).not.toContain('"n":2');
    releaseSecond();
    expect(await first.rest).toContain('"n":2');
  });

  it('leaves a text/event-stream answer uncompressed even when complete and large', async () => {
    const res = await raw(port, { path: '/graphql?sse=1', headers: { 'accept-encoding': 'gzip, br' } });
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.body.toString()).toMatch(/^data: y+/);
  });
});

/** `members` gzip members of `memberBytes` zeros each: one gzip stream to any decoder (RFC 1952), built in milliseconds. */
function gzipBomb(members: number, memberBytes: number): Buffer {
  const member = zlib.gzipSync(Buffer.alloc(memberBytes), { level: 9 });
  return Buffer.concat(Array.from({ length: members }, () => member));
}

describe('compressed request bodies', () => {
  const send = (body: Buffer, encoding: string) =>
    raw(on.port, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body });
  const query = Buffer.from(JSON.stringify({ query: '{ hello }' }));

  it.each([
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync],
    ['br', zlib.brotliCompressSync],
  ] as const)('accepts a %s body within MAX_BODY_BYTES', async (encoding, encode) => {
    const res = await send(encode(query), encoding);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ data: { hello: 'world' } });
  });

  it('refuses a gzip bomb (1000 MiB of zeros in about 1 MB) with 413 once MAX_BODY_BYTES is inflated, and inflates no further', async () => {
    const bomb = gzipBomb(250, 4 << 20);
    expect(bomb.length).toBeLessThanOrEqual(MAX_BODY_BYTES);
    const before = on.stats.inflatedBytes;
    const res = await send(bomb, 'gzip');
    expect(res.status).toBe(413);
    const error = JSON.parse(res.body.toString()).errors[0];
    expect(error.extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toMatch(/decompressed/);
    const inflated = on.stats.inflatedBytes - before;
    expect(inflated).toBeGreaterThan(MAX_BODY_BYTES);
    // One decoder chunk past the limit at most: not the gigabyte.
    expect(inflated).toBeLessThan(MAX_BODY_BYTES + 256 * 1024);
  });

  it('refuses a brotli bomb (64 MiB of zeros in a few hundred bytes) the same way', async () => {
    const bomb = zlib.brotliCompressSync(Buffer.alloc(64 << 20), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
    expect(bomb.length).toBeLessThan(4096);
    const before = on.stats.inflatedBytes;
    const res = await send(bomb, 'br');
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body.toString()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(on.stats.inflatedBytes - before).toBeLessThan(MAX_BODY_BYTES + 256 * 1024);
  });

  it('refuses an unknown or stacked coding with 415 and a corrupt stream with 400', async () => {
    expect((await send(zlib.gzipSync(zlib.gzipSync(query)), 'gzip, gzip')).status).toBe(415);
    expect((await send(query, 'compress')).status).toBe(415);
    const corrupt = await send(Buffer.from('definitely not gzip'), 'gzip');
    expect(corrupt.status).toBe(400);
    expect(JSON.parse(corrupt.body.toString()).errors[0].extensions.code).toBe('BAD_REQUEST');
  });
});

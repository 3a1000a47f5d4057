import type { IncomingMessage } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

/**
 * Streamed responses (incremental delivery, subscriptions over SSE) are never
 * compressed: a compressor buffers until it has enough to emit, so parts would
 * reach the client late or all at once. They go out as they are written.
 */
export const STREAMING_TYPES = ['multipart/mixed', 'text/event-stream'] as const;

export function isStreamingType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return (STREAMING_TYPES as readonly string[]).includes(type);
}

export type ResponseEncoding = 'br' | 'gzip';

/**
 * The coding to answer with, from Accept-Encoding (q=0 refuses a coding). gzip at equal weight:
 * on this app's answers (JSON with much CJK text) brotli at quality 5 is 10 % smaller than gzip -6
 * for 1.6 times its CPU, and at quality 4 larger and slower (bench/RESULTS.md, Compression).
 */
export function chooseEncoding(acceptEncoding: string | string[] | undefined): ResponseEncoding | undefined {
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : (acceptEncoding ?? '');
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    if (name === '') continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    weights.set(name, q === undefined ? 1 : Number(q));
  }
  const weight = (name: string) => weights.get(name) ?? weights.get('*') ?? 0;
  const br = weight('br');
  const gzip = Math.max(weight('gzip'), weights.get('x-gzip') ?? 0);
  if (gzip > 0 && gzip >= br) return 'gzip';
  if (br > 0) return 'br';
  return undefined;
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);
/** Brotli's default quality (11) costs some 60 times gzip's CPU on a 9 KB answer; 5 costs 1.6 times. */
const BROTLI_OPTIONS: zlib.BrotliOptions = {
  params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5, [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT },
};

/**
 * Below this, compressing on the event loop (a tenth of a millisecond for 9 KB) is cheaper than
 * the thread-pool round trip; larger bodies go to the pool so that one answer does not stall others.
 */
const SYNC_BELOW_BYTES = 64 * 1024;

export function compress(body: Buffer, encoding: ResponseEncoding): Buffer | Promise<Buffer> {
  if (encoding === 'gzip') return body.length < SYNC_BELOW_BYTES ? zlib.gzipSync(body) : gzip(body);
  const options = { ...BROTLI_OPTIONS, params: { ...BROTLI_OPTIONS.params, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } };
  return body.length < SYNC_BELOW_BYTES ? zlib.brotliCompressSync(body, options) : brotli(body, options);
}

export type BodyRead =
  | { kind: 'ok'; body: string }
  | { kind: 'too-large'; decoded: boolean }
  | { kind: 'timeout' }
  | { kind: 'unsupported-encoding'; encoding: string }
  | { kind: 'corrupt' };

/**
 * Reads a request body of at most `limit` bytes, after decoding its
 * Content-Encoding (gzip, deflate, br): a small compressed body that inflates
 * past the limit (a zip bomb) is refused the moment the limit is crossed, and
 * the decoder is destroyed there, so nothing more is inflated. The whole body
 * must arrive within `deadlineMs` of the call (a client dribbling it holds no
 * request open for longer). `stats.inflatedBytes` counts what decoders produced.
 */
export function readBody(req: IncomingMessage, limit: number, deadlineMs: number, stats: { inflatedBytes: number }): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  const coding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!['identity', 'gzip', 'x-gzip', 'deflate', 'br'].includes(coding)) return Promise.resolve({ kind: 'unsupported-encoding', encoding: coding });
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ kind: 'too-large', decoded: false });
  const decoder =
    coding === 'gzip' || coding === 'x-gzip' ? zlib.createGunzip() : coding === 'deflate' ? zlib.createInflate() : coding === 'br' ? zlib.createBrotliDecompress() : undefined;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let raw = 0;
    let size = 0;
    let done = false;
    const finish = (result: BodyRead) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      chunks.length = 0;
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
      resolve(result);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout' }), deadlineMs);
    // The compressed bytes are capped too: identity is the same count, and a coded body is never larger than its content.
    req.on('data', (chunk: Buffer) => {
      raw += chunk.length;
      if (raw > limit) finish({ kind: 'too-large', decoded: false });
    });
    req.on('error', () => finish({ kind: 'corrupt' }));
    const source = decoder ?? req;
    if (decoder) {
      req.pipe(decoder);
      decoder.on('error', () => finish({ kind: 'corrupt' }));
    }
    source.on('data', (chunk: Buffer) => {
      if (done) return;
      if (decoder) stats.inflatedBytes += chunk.length;
      size += chunk.length;
      if (size > limit) return finish({ kind: 'too-large', decoded: decoder !== undefined });
      chunks.push(chunk);
    });
    source.on('end', () => finish({ kind: 'ok', body: Buffer.concat(chunks).toString('utf8') }));
  });
}

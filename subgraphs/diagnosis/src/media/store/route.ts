import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { DEFAULT_EDGE, handleCors, type HttpEdgeOptions } from '@suoke/platform';
import { isMediaKey } from './key.js';
import type { LocalMediaStore } from './local.js';

export const MEDIA_PATH_PREFIX = '/media/';

export interface MediaRoute {
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void>;
}

/**
 * The local store's HTTP side: PUT and GET of /media/<key> at URLs the store signed. These requests carry no
 * token and bypass the gateway: the signature is the authorisation (method, key, expiry, size and type).
 * Messages never name a path on disk.
 */
export function localMediaRoute(store: LocalMediaStore, options: { cors?: HttpEdgeOptions['cors'] } = {}): MediaRoute {
  const cors = options.cors ?? DEFAULT_EDGE.cors;
  return {
    prefix: MEDIA_PATH_PREFIX,
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'OPTIONS') return preflight(req, res, cors);
      handleCors(req, res, cors);
      if (req.method !== 'PUT' && req.method !== 'GET') {
        res.setHeader('allow', 'GET, PUT, OPTIONS');
        return refuse(res, 405, 'Media URLs take GET and PUT only', 'METHOD_NOT_ALLOWED');
      }
      let key: string;
      try {
        key = decodeURIComponent(url.pathname.slice(MEDIA_PATH_PREFIX.length));
      } catch {
        return refuse(res, 404, 'Not found', 'NOT_FOUND');
      }
      if (!isMediaKey(key)) return refuse(res, 404, 'Not found', 'NOT_FOUND');
      const check = store.checkGrant(req.method, key, url.searchParams);
      if (!check.ok) {
        const message = check.reason === 'expired' ? 'This media URL has expired; ask for a new one' : 'This media URL is not valid';
        return refuse(res, 403, message, 'FORBIDDEN');
      }
      return req.method === 'PUT' ? put(store, req, res, key, check.grant.max!, check.grant.ct) : get(store, res, key, check.grant.ct);
    },
  };
}

async function put(store: LocalMediaStore, req: IncomingMessage, res: ServerResponse, key: string, max: number, ct: string): Promise<void> {
  const sent = String(req.headers['content-type'] ?? '').trim().toLowerCase();
  if (sent !== ct) return refuse(res, 400, `Content-Type must be ${ct}, as the upload was signed for`, 'BAD_REQUEST', true);
  const declared = Number(req.headers['content-length']);
  // A declared length over the grant is refused before a byte is read; a missing or lying one is cut while streaming.
  if (Number.isFinite(declared) && declared > max) return refuse(res, 413, `The upload is larger than the ${max} bytes it was signed for`, 'PAYLOAD_TOO_LARGE', true);
  const outcome = await store.receive(key, req, max);
  if (outcome === 'too-large') return refuse(res, 413, `The upload is larger than the ${max} bytes it was signed for`, 'PAYLOAD_TOO_LARGE', true);
  res.writeHead(204, { 'cache-control': 'no-store', 'content-length': '0' });
  res.end();
}

async function get(store: LocalMediaStore, res: ServerResponse, key: string, ct: string): Promise<void> {
  const file = await store.openForRead(key);
  if (!file) return refuse(res, 404, 'Not found', 'NOT_FOUND');
  res.writeHead(200, {
    'content-type': ct,
    'content-length': String(file.size),
    'cache-control': 'private, no-store',
    'content-disposition': 'attachment',
    'x-content-type-options': 'nosniff',
  });
  // pipeline closes the file when the client goes away mid-download (a bare pipe would leak its descriptor).
  await pipeline(file.stream, res).catch(() => res.destroy());
}

/**
 * handleCors grants GET and POST only (what /graphql takes); a browser's PUT of an upload needs PUT granted, so
 * the preflight is answered here with the same origin policy.
 */
function preflight(req: IncomingMessage, res: ServerResponse, cors: HttpEdgeOptions['cors']): void {
  const origin = req.headers.origin;
  const allowed = typeof origin === 'string' && cors.origins.has(origin);
  res.setHeader('vary', 'Origin');
  if (allowed && req.headers['access-control-request-method']) {
    res.setHeader('access-control-allow-origin', origin);
    if (cors.credentials) res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('access-control-allow-methods', 'GET, PUT, OPTIONS');
    res.setHeader('access-control-allow-headers', 'content-type');
    res.setHeader('access-control-max-age', String(cors.maxAgeSeconds));
    res.writeHead(204, { 'content-length': '0' });
  } else {
    res.writeHead(allowed || !origin ? 204 : 403, { allow: 'GET, PUT, OPTIONS', 'content-length': '0' });
  }
  res.end();
}

/** `close`: the client may still be sending a body we will not read; closing stops it instead of draining it. */
function refuse(res: ServerResponse, status: number, message: string, code: string, close = false): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  if (close) res.setHeader('connection', 'close');
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store' });
  res.end(body);
}

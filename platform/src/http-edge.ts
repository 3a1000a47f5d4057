import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { BaseConfig } from './config.js';
import { addressKey } from './rate-limit/index.js';

/** Apollo Studio's hosted Sandbox, allowed by default outside production so it can call a local service. */
export const APOLLO_STUDIO_ORIGIN = 'https://studio.apollographql.com';

/** What the HTTP front enforces before any GraphQL runs; `edgeFromConfig` fills it from the environment. */
export interface HttpEdgeOptions {
  cors: { origins: ReadonlySet<string>; credentials: boolean; maxAgeSeconds: number };
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** 0: no cap. */
  maxConnectionsPerAddress: number;
  compression: { enabled: boolean; minBytes: number };
}

export function edgeFromConfig(config: BaseConfig): HttpEdgeOptions {
  const origins = config.CORS_ORIGINS ?? (config.NODE_ENV === 'production' ? [] : [APOLLO_STUDIO_ORIGIN]);
  return {
    cors: { origins: new Set(origins), credentials: config.CORS_CREDENTIALS === 'on', maxAgeSeconds: config.CORS_MAX_AGE_S },
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    bodyTimeoutMs: config.HTTP_BODY_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    maxConnectionsPerAddress: config.HTTP_MAX_CONNECTIONS_PER_ADDRESS,
    compression: { enabled: config.COMPRESSION === 'on', minBytes: config.COMPRESSION_MIN_BYTES },
  };
}

/** The configuration's defaults, for callers (tests) that build a server without a config. */
export const DEFAULT_EDGE: HttpEdgeOptions = {
  cors: { origins: new Set(), credentials: false, maxAgeSeconds: 600 },
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyTimeoutMs: 20_000,
  keepAliveTimeoutMs: 65_000,
  maxConnectionsPerAddress: 1_024,
  compression: { enabled: true, minBytes: 1_024 },
};

/**
 * Node checks headers and request timeouts on a timer, every 30 s by default:
 * a 10 s headers timeout would then cut a slowloris socket only after up to 40 s.
 */
export function connectionsCheckingInterval(edge: HttpEdgeOptions): number {
  return Math.max(50, Math.min(1_000, Math.floor(edge.headersTimeoutMs / 4)));
}

export function applyTimeouts(server: Server, edge: HttpEdgeOptions): void {
  server.headersTimeout = edge.headersTimeoutMs;
  server.requestTimeout = edge.requestTimeoutMs;
  server.keepAliveTimeout = edge.keepAliveTimeoutMs;
}

/**
 * Caps open connections per client address. A connection over the cap is
 * destroyed at once, before a byte is read: it costs a file descriptor for
 * microseconds, not a parser and a timer.
 */
export function limitConnectionsPerAddress(server: Server, max: number, onRefused?: (key: string) => void): { open(key: string): number } {
  const open = new Map<string, number>();
  if (max > 0) {
    server.on('connection', (socket: Socket) => {
      const key = addressKey(socket.remoteAddress ?? 'unknown');
      const count = open.get(key) ?? 0;
      if (count >= max) {
        socket.destroy();
        onRefused?.(key);
        return;
      }
      open.set(key, count + 1);
      socket.once('close', () => {
        const left = (open.get(key) ?? 1) - 1;
        if (left <= 0) open.delete(key);
        else open.set(key, left);
      });
    });
  }
  return { open: (key) => open.get(key) ?? 0 };
}

/** Headers a browser may send cross-origin: GraphQL over HTTP, Apollo's CSRF and client awareness, tracing. */
const ALLOWED_HEADERS = [
  'content-type',
  // Safelisted only while its value has no quote: a multipart accept with boundary="graphql" needs it granted.
  'accept',
  'authorization',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'apollo-federation-include-trace',
  'apollo-query-plan-experimental',
  'x-request-id',
  'traceparent',
  'tracestate',
].join(', ');

/**
 * CORS for /graphql. An allowed origin gets its own origin back (never `*`);
 * any other gets no CORS header at all, so the browser withholds the answer.
 * Returns true when the request was a preflight and has been answered.
 * Apollo Server's csrfPrevention still runs after this for every non-preflight
 * request: CORS decides who may read answers, csrfPrevention that a simple
 * (unpreflighted) request never executes.
 */
export function handleCors(req: IncomingMessage, res: ServerResponse, cors: HttpEdgeOptions['cors']): boolean {
  const origin = req.headers.origin;
  const allowed = typeof origin === 'string' && cors.origins.has(origin);
  // Caches must not serve one origin's answer (with its CORS headers, or without) to another.
  res.setHeader('vary', 'Origin');
  if (allowed) {
    res.setHeader('access-control-allow-origin', origin);
    if (cors.credentials) res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('access-control-expose-headers', 'x-request-id');
  }
  if (req.method !== 'OPTIONS') return false;
  if (allowed && req.headers['access-control-request-method']) {
    res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
    res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
    res.setHeader('access-control-max-age', String(cors.maxAgeSeconds));
    res.writeHead(204, { 'content-length': '0' });
  } else {
    // A preflight from an origin not on the list, or an OPTIONS that is no preflight: nothing granted.
    res.writeHead(allowed || !origin ? 204 : 403, { allow: 'GET, POST, OPTIONS', 'content-length': '0' });
  }
  res.end();
  return true;
}

import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { chooseEncoding, compress, isStreamingType, readBody, type BodyRead } from './compression.js';
import { applyTimeouts, connectionsCheckingInterval, DEFAULT_EDGE, handleCors, limitConnectionsPerAddress, type HttpEdgeOptions } from './http-edge.js';
import { runInRequestScope } from './request-context.js';

export interface RequestInfo {
  req: IncomingMessage;
  requestId: string;
}

export interface HttpAppOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  /** Builds the GraphQL context; a thrown UNAUTHENTICATED error answers 401 before execution. */
  context: (info: RequestInfo) => Promise<TContext>;
  /** Readiness: false (or a throw) answers 503 on /health/ready. */
  ready: () => Promise<boolean>;
  log: Logger;
  maxBodyBytes: number;
  /** Runs before GraphQL; a returned rejection is sent as is (e.g. a missing gateway secret). */
  guard?: (req: IncomingMessage) => { status: number; message: string; code: string } | undefined;
  /** Extra GET routes, e.g. /metrics or /.well-known/jwks.json. */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void | Promise<void>>;
  /**
   * POST routes answered with an event stream (a subgraph's /graphql/stream): CORS and the
   * body limits as for /graphql, then the handler writes the response itself, uncompressed.
   */
  streams?: Record<string, (req: IncomingMessage, res: ServerResponse, body: string, requestId: string) => Promise<void>>;
  /**
   * Offered every POST (with its parsed body, after the body limits) and GET to /graphql after
   * CORS and the guard, before Apollo Server: returns true when it has answered the request
   * itself (the gateway's subscriptions over multipart and SSE, written uncompressed as they happen).
   */
  graphqlStream?: (req: IncomingMessage, res: ServerResponse, body: unknown, requestId: string) => Promise<boolean>;
  /**
   * Routes for every path under a prefix, any method, tried after /health and `routes`: the handler does its own
   * CORS and body reading. They bypass `guard` on purpose, so each must authorise its requests itself (the media
   * store's signed URLs).
   */
  prefixRoutes?: { prefix: string; handle: (req: IncomingMessage, res: ServerResponse, requestId: string) => Promise<void> }[];
  /** Called with the status of every /graphql response once sent (metrics). */
  onGraphQLResponse?: (status: number) => void;
  /** CORS, timeouts, per-address connection cap and compression (edgeFromConfig); Node-like defaults without. */
  edge?: HttpEdgeOptions;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The HTTP front of every service: /graphql through Apollo Server's
 * executeHTTPGraphQLRequest, /health/live and /health/ready, and a body size
 * limit answered with 413. The edge (http-edge.ts, compression.ts) comes
 * first: per-address connection cap and timeouts on the socket, CORS before
 * Apollo's own CSRF check, decompression within the body limit, compressed
 * answers. No framework: one less layer on the hot path.
 */
export function createHttpServer<TContext extends BaseContext>(options: HttpAppOptions<TContext>) {
  let draining = false;
  const edge = options.edge ?? DEFAULT_EDGE;
  /**
   * GraphQL requests received (tests count subgraph fetches with it); bytes inflated from
   * compressed request bodies; connections refused by the per-address cap.
   */
  const stats = { graphqlRequests: 0, inflatedBytes: 0, refusedConnections: 0 };
  const server = http.createServer({ connectionsCheckingInterval: connectionsCheckingInterval(edge) }, (req, res) => {
    void handle(req, res).catch((error: unknown) => {
      options.log.error({ err: error }, 'unhandled HTTP error');
      if (!res.headersSent) sendJsonError(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR');
      else res.destroy();
    });
  });
  applyTimeouts(server, edge);
  limitConnectionsPerAddress(server, edge.maxConnectionsPerAddress, () => {
    stats.refusedConnections += 1;
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    res.setHeader('x-request-id', requestId);

    if (url.pathname === '/health/live') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/health/ready') {
      const ok = !draining && (await options.ready().catch(() => false));
      return sendJson(res, ok ? 200 : 503, { status: ok ? 'ready' : draining ? 'draining' : 'unavailable' });
    }
    const route = options.routes?.[url.pathname];
    if (route && req.method === 'GET') return route(req, res);
    if (url.pathname === '/' && req.method === 'GET') {
      res.writeHead(302, { location: '/graphql' });
      return void res.end();
    }
    const stream = options.streams?.[url.pathname];
    if (stream) {
      if (handleCors(req, res, edge.cors)) return;
      // graphql-sse: POST (distinct connections), or PUT, GET, POST and DELETE (single connection mode).
      if (!['POST', 'PUT', 'GET', 'DELETE'].includes(req.method ?? '')) {
        res.setHeader('allow', 'GET, POST, PUT, DELETE');
        return sendJsonError(res, 405, 'Subscriptions are served here over graphql-sse (POST, or PUT, GET, POST and DELETE in single connection mode)', 'METHOD_NOT_ALLOWED');
      }
      if (req.method !== 'POST') return stream(req, res, '', requestId);
      const read = await readBody(req, options.maxBodyBytes, edge.bodyTimeoutMs, stats);
      if (read.kind !== 'ok') return refuseBody(res, read, options.maxBodyBytes, edge.bodyTimeoutMs);
      return stream(req, res, read.body, requestId);
    }
    const prefixed = options.prefixRoutes?.find((r) => url.pathname.startsWith(r.prefix));
    if (prefixed) return prefixed.handle(req, res, requestId);
    if (url.pathname !== '/graphql') return sendJsonError(res, 404, 'Not found', 'NOT_FOUND');
    if (handleCors(req, res, edge.cors)) return;
    stats.graphqlRequests += 1;
    const onResponse = options.onGraphQLResponse;
    if (onResponse) res.once('finish', () => onResponse(res.statusCode));

    const rejection = options.guard?.(req);
    if (rejection) return sendJsonError(res, rejection.status, rejection.message, rejection.code);

    let body: unknown;
    if (req.method === 'POST') {
      const read = await readBody(req, options.maxBodyBytes, edge.bodyTimeoutMs, stats);
      if (read.kind !== 'ok') return refuseBody(res, read, options.maxBodyBytes, edge.bodyTimeoutMs);
      const type = String(req.headers['content-type'] ?? '');
      if (type.includes('json')) {
        try {
          body = read.body.length === 0 ? undefined : JSON.parse(read.body);
        } catch {
          return sendJsonError(res, 400, 'The request body is not valid JSON', 'BAD_REQUEST');
        }
      } else {
        body = read.body;
      }
    }

    if ((req.method === 'POST' || req.method === 'GET') && options.graphqlStream && (await options.graphqlStream(req, res, body, requestId))) return;

    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await runInRequestScope({ requestId }, () =>
      options.apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body },
        context: () => contextWithStatus(() => options.context({ req, requestId })),
      }),
    );
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') return sendComplete(req, res, response.body.string);
    // Streamed (multipart/mixed incremental delivery): each part is flushed as written, never compressed.
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  /** A whole body: compressed when the client accepts it, it is large enough, and its type is not a stream's. */
  async function sendComplete(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const body = Buffer.from(text, 'utf8');
    const encoding = edge.compression.enabled && body.length >= edge.compression.minBytes ? chooseEncoding(req.headers['accept-encoding']) : undefined;
    const type = res.getHeader('content-type');
    if (encoding && !isStreamingType(typeof type === 'string' ? type : undefined) && !res.hasHeader('content-encoding')) {
      const compressed = await compress(body, encoding);
      res.setHeader('content-encoding', encoding);
      res.appendHeader('vary', 'Accept-Encoding');
      res.setHeader('content-length', compressed.length);
      res.end(compressed);
      return;
    }
    if (edge.compression.enabled) res.appendHeader('vary', 'Accept-Encoding');
    res.setHeader('content-length', body.length);
    res.end(body);
  }

  return {
    server,
    stats,
    /** Listens on `port` (0 picks a free one) and resolves with the bound port. */
    async listen(port: number, host?: string): Promise<number> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    },
    /** Marks the service not ready so balancers stop sending before connections close. */
    beginDrain() {
      draining = true;
    },
  };
}

async function contextWithStatus<T>(build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (error) {
    if (error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED') {
      throw new GraphQLError(error.message, { extensions: { ...error.extensions, http: { status: 401 } } });
    }
    throw error;
  }
}

function refuseBody(res: ServerResponse, read: Exclude<BodyRead, { kind: 'ok' }>, maxBodyBytes: number, bodyTimeoutMs: number): void {
  if (read.kind === 'too-large') {
    const what = read.decoded ? 'Request body exceeds %d bytes once decompressed' : 'Request body exceeds %d bytes';
    return sendJsonError(res, 413, what.replace('%d', String(maxBodyBytes)), 'PAYLOAD_TOO_LARGE', true);
  }
  if (read.kind === 'timeout') return sendJsonError(res, 408, `The request body did not arrive within ${bodyTimeoutMs} ms`, 'REQUEST_TIMEOUT', true);
  if (read.kind === 'unsupported-encoding') return sendJsonError(res, 415, 'Content-Encoding must be gzip, deflate, br or identity', 'UNSUPPORTED_MEDIA_TYPE', true);
  return sendJsonError(res, 400, 'The request body could not be read or decompressed', 'BAD_REQUEST', true);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJsonError(res: ServerResponse, status: number, message: string, code: string, close = false): void {
  if (close) res.setHeader('connection', 'close');
  sendJson(res, status, { errors: [{ message, extensions: { code } }] });
}

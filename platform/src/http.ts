import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
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
  /** Called with the status of every /graphql response once sent (metrics). */
  onGraphQLResponse?: (status: number) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The HTTP front of every service: /graphql through Apollo Server's
 * executeHTTPGraphQLRequest, /health/live and /health/ready, and a body size
 * limit answered with 413. No framework: one less layer on the hot path.
 */
export function createHttpServer<TContext extends BaseContext>(options: HttpAppOptions<TContext>) {
  let draining = false;
  /** GraphQL requests received (tests count subgraph fetches with it). */
  const stats = { graphqlRequests: 0 };
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      options.log.error({ err: error }, 'unhandled HTTP error');
      if (!res.headersSent) sendJsonError(res, 500, 'Internal server error', 'INTERNAL_SERVER_ERROR');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;

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
    if (url.pathname !== '/graphql') return sendJsonError(res, 404, 'Not found', 'NOT_FOUND');
    stats.graphqlRequests += 1;
    const onResponse = options.onGraphQLResponse;
    if (onResponse) res.once('finish', () => onResponse(res.statusCode));

    const rejection = options.guard?.(req);
    if (rejection) return sendJsonError(res, rejection.status, rejection.message, rejection.code);

    let body: unknown;
    if (req.method === 'POST') {
      const read = await readBody(req, options.maxBodyBytes);
      if (read === 'too-large') return sendJsonError(res, 413, `Request body exceeds ${options.maxBodyBytes} bytes`, 'BAD_REQUEST', true);
      const type = String(req.headers['content-type'] ?? '');
      if (type.includes('json')) {
        try {
          body = read.length === 0 ? undefined : JSON.parse(read);
        } catch {
          return sendJsonError(res, 400, 'The request body is not valid JSON', 'BAD_REQUEST');
        }
      } else {
        body = read;
      }
    }

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
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
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

function readBody(req: IncomingMessage, limit: number): Promise<string | 'too-large'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.resolve('too-large');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
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

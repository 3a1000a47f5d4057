import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionDenyList, TokenVerifier } from '@suoke/platform';
import { GraphQLError, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { print as printSse } from 'graphql-sse';
import { SUBSCRIPTION_TRANSPORT_REQUIRED, SUBSCRIPTION_TRANSPORTS_MESSAGE } from '../subscription-over-post.js';
import { callerFrom, type LiveCaller } from './caller.js';
import type { ClientHeaderNames } from '../client-identity.js';
import type { LiveCore, Transport } from './core.js';
import type { SubscribePayload } from './prepare.js';
import { isEndResult, type LiveStream } from './stream.js';

export interface HttpTransportOptions {
  verify: TokenVerifier;
  sessions: SessionDenyList;
  trustedProxyHops: number;
  clientHeaders?: ClientHeaderNames | undefined;
  /** Multipart heartbeat parts (`{}`) and SSE comments, this often (Apollo Router: 5 s). */
  heartbeatMs: number;
  /** Whether the document of `payload` is a subscription (other operations go on to Apollo Server). */
  isSubscription(payload: SubscribePayload): boolean;
}

/** `multipart/mixed;subscriptionSpec=1.0` in any of the spellings clients send (quoted, with a boundary, spaces). */
const SUBSCRIPTION_SPEC = /multipart\/mixed[^,]*;\s*subscriptionSpec\s*=\s*"?1\.0"?/i;
const EVENT_STREAM = /(^|,)\s*text\/event-stream\s*(;|,|$)/i;
/** A JSON body: a type no HTML form can send, so a browser sends it cross-site only after a CORS preflight. */
const JSON_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(;|$)/i;

export const MULTIPART_CONTENT_TYPE = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0';
const BOUNDARY = '\r\n--graphql';
const PART_HEAD = '\r\ncontent-type: application/json; charset=utf-8\r\n\r\n';

/** The streaming transport an HTTP request asks for, if any: Apollo's multipart subscriptions or graphql-sse. */
export function requestedTransport(req: IncomingMessage): Exclude<Transport, 'ws'> | undefined {
  const accept = String(req.headers.accept ?? '');
  // An @defer request (deferSpec, no subscriptionSpec) belongs to the query path.
  if (SUBSCRIPTION_SPEC.test(accept)) return 'multipart';
  if (EVENT_STREAM.test(accept)) return 'sse';
  return undefined;
}

/**
 * Subscriptions over plain HTTP on /graphql, both on the live core:
 * - multipart: Apollo's multipart subscription protocol, as Apollo Client's
 *   HttpLink reads it (each part `{"payload": <result>}` closed by the next
 *   boundary so it is read at once, heartbeat parts `{}`, a reason the gateway
 *   ended it as `{"payload": null, "errors": [...]}`, then `--graphql--`);
 * - sse: graphql-sse's distinct connections mode (`event: next` per result,
 *   then `event: complete`), framed with graphql-sse's own printer.
 * The caller is the `authorization` header's bearer token. Whatever is
 * refused before the stream opens is a JSON GraphQL response with an HTTP
 * status and a stable code; once open, the response headers are flushed at
 * once, before the first event.
 */
export function createHttpTransport(core: LiveCore, options: HttpTransportOptions) {
  /**
   * Takes a POST to /graphql (body already read and parsed) when it asks for a
   * streaming transport and runs a subscription; returns false to leave it to
   * Apollo Server (a query, a non-JSON body, which Apollo's CSRF check refuses).
   */
  async function handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<boolean> {
    if (req.method === 'GET') return refuseGet(req, res);
    const transport = requestedTransport(req);
    if (!transport) return false;
    if (!JSON_TYPE.test(String(req.headers['content-type'] ?? ''))) return false;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
    const payload = body as SubscribePayload;
    if (!options.isSubscription(payload)) return false;

    let gone = false;
    let stream: LiveStream | undefined;
    const onClose = () => {
      gone = true;
      void stream?.return();
    };
    res.once('close', onClose);

    let caller: LiveCaller;
    try {
      caller = await callerFrom({ authorization: req.headers.authorization }, req, options);
    } catch (error) {
      const message = error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED' ? error.message : 'The access token could not be verified';
      sendErrors(res, 401, [{ message, extensions: { code: 'UNAUTHENTICATED' } }]);
      return true;
    }
    const opened = await core.open(caller, payload, transport);
    if (Array.isArray(opened)) {
      const { status, headers } = httpOf(opened[0]);
      sendErrors(res, status, opened.map(core.format), headers);
      return true;
    }
    stream = opened.stream;
    // The client left while the subscription was being checked and opened: close it (and its upstream) now.
    if (gone || res.destroyed) {
      await stream.return();
      return true;
    }
    res.writeHead(200, {
      'content-type': transport === 'multipart' ? MULTIPART_CONTENT_TYPE : 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      // nginx and similar proxies would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    const frame = transport === 'multipart' ? multipart : sse;
    res.write(frame.open);
    res.flushHeaders();
    const heartbeat = setInterval(() => {
      if (!gone && !res.destroyed) res.write(frame.heartbeat);
    }, options.heartbeatMs);
    try {
      for (;;) {
        const item = await stream.next();
        if (item.done || gone || res.destroyed) break;
        const result = formatted(item.value, core.format);
        if (isEndResult(item.value)) {
          res.write(frame.reason(result));
          break;
        }
        if (!res.write(frame.event(result))) await drained(res);
      }
      if (!gone && !res.destroyed) res.end(frame.close);
    } finally {
      clearInterval(heartbeat);
      res.off('close', onClose);
      await stream.return();
    }
    return true;
  }

  /**
   * A subscription sent with GET: Apollo Server would answer 405 "GET requests
   * only support query operations" with no code; it gets the code and the
   * transports that serve it, as a POST without a streaming accept header does.
   */
  function refuseGet(req: IncomingMessage, res: ServerResponse): boolean {
    const params = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const query = params.get('query') ?? undefined;
    if (!query || !options.isSubscription({ query, operationName: params.get('operationName') ?? undefined })) return false;
    sendErrors(res, 400, [{ message: SUBSCRIPTION_TRANSPORTS_MESSAGE, extensions: { code: SUBSCRIPTION_TRANSPORT_REQUIRED } }]);
    return true;
  }

  return { handle };
}

interface Framing {
  /** Written with the headers. */
  open: string;
  heartbeat: string;
  event(result: FormattedExecutionResult): string;
  /** The reason the gateway ended the subscription (then `close`). */
  reason(result: FormattedExecutionResult): string;
  close: string;
}

/** Each part is followed by the boundary, so a reader that splits on boundaries has it at once. */
const multipart: Framing = {
  open: BOUNDARY,
  heartbeat: `${PART_HEAD}{}${BOUNDARY}`,
  event: (result) => `${PART_HEAD}${JSON.stringify({ payload: result })}${BOUNDARY}`,
  reason: (result) => `${PART_HEAD}${JSON.stringify({ payload: null, errors: result.errors ?? [] })}${BOUNDARY}`,
  close: '--\r\n',
};

/** graphql-sse's distinct connections mode: a comment first (some browsers wait for a byte), `next`s, then `complete`. */
const sse: Framing = {
  open: ':\n\n',
  heartbeat: ':\n\n',
  event: (result) => nextEvent(result),
  reason: (result) => nextEvent(result),
  close: printSse({ event: 'complete', data: null }),
};

/** graphql-sse's `next` message as its `print` writes it; its types want unformatted GraphQLErrors, the wire carries formatted ones. */
function nextEvent(result: FormattedExecutionResult): string {
  return `event: next\ndata: ${JSON.stringify(result)}\n\n`;
}

function formatted(result: ExecutionResult, format: (error: GraphQLError) => GraphQLFormattedError): FormattedExecutionResult {
  if (!result.errors) return result;
  return { ...result, errors: result.errors.map((e) => format(e instanceof GraphQLError ? e : new GraphQLError(String((e as Error).message ?? e)))) };
}

/** The status a refusal is answered with: its own (a limit's 429 and retry-after), else by its code. */
function httpOf(error: GraphQLError | undefined): { status: number; headers: Record<string, string> } {
  const http = error?.extensions.http as { status?: number; headers?: Iterable<[string, string]> } | undefined;
  const headers: Record<string, string> = {};
  if (http?.headers) for (const [key, value] of http.headers) headers[key] = value;
  if (typeof http?.status === 'number') return { status: http.status, headers };
  return { status: STATUS_BY_CODE[String(error?.extensions.code)] ?? 400, headers };
}

const STATUS_BY_CODE: Record<string, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  SUBSCRIPTION_LIMIT: 429,
  RATE_LIMITED: 429,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

function sendErrors(res: ServerResponse, status: number, errors: readonly GraphQLFormattedError[], headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const body = JSON.stringify({ errors });
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError, subscribe as graphqlSubscribe, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { createHandler, TOKEN_HEADER_KEY, type ExecutionResult as SseResult, type OperationArgs } from 'graphql-sse';
import type { Logger } from 'pino';
import { answer, errorResult, headerOf, JSON_HEADERS, pipe, sendJson, subscriptionDocument } from './stream-http.js';
import { supervise, type Supervised } from './supervise.js';

/** The path of the subgraph's subscriptions (graphql-sse, distinct connections and single connection modes). */
export const STREAM_PATH = '/graphql/stream';
/** A process holds SUBSCRIPTIONS_MAX_PER_PROCESS open streams: the next is refused with this code (another replica may take it). */
export const TOO_MANY_SUBSCRIPTIONS = 'TOO_MANY_SUBSCRIPTIONS';

/** Why a request was refused before its stream opened: sent as JSON with this status. */
export interface StreamRefusal {
  status: number;
  code: string;
  message: string;
}

export interface StreamEndpointOptions<TContext extends object> {
  schema: GraphQLSchema;
  log: Logger;
  /** Runs first: the gateway's secret (403 without it). */
  guard?: (req: IncomingMessage) => StreamRefusal | undefined;
  /** The operation's context, built as /graphql builds it; a thrown UNAUTHENTICATED answers 401 before the stream opens. */
  context: (req: IncomingMessage, requestId: string) => Promise<TContext>;
  /** When the caller's credentials stop being valid (the token's `exp`, epoch ms); undefined: never (anonymous). */
  expiresAt: (req: IncomingMessage, context: TContext) => number | undefined;
  /** Checked at every heartbeat and event: an error ends the stream with it (a session signed out meanwhile). */
  stillAllowed?: (context: TContext) => GraphQLError | undefined;
  /** Masks errors as /graphql does (createErrorMasking's formatError). */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** After each result sent (the audit log of what it disclosed). */
  afterResult?: (context: TContext) => Promise<void>;
  heartbeatMs: number;
  maxOpen: number;
}

/** A reserved single-connection stream whose event stream is not opened within this long is dropped. */
const RESERVATION_MS = 30_000;

/**
 * /graphql/stream: the subgraph's subscriptions over graphql-sse, in both its
 * modes. Distinct connections: one POST per operation, the answer its event
 * stream. Single connection (what the gateway uses, many subscriptions on one
 * connection): PUT reserves a stream (the answer is its token), GET with the
 * `x-graphql-event-stream-token` header opens it, each operation is a POST
 * with the token and its own headers (authenticated, limited and expiring
 * exactly as a distinct one: its context is its own request's), and
 * `DELETE ?operationId=` stops one; closing the GET stops them all.
 * The contract (README, Live) in short, per operation:
 * - the gateway's secret (403 without), the bearer token verified as on
 *   /graphql (401 before the stream opens), `accept: text/event-stream` (406);
 * - subscriptions only (a query or mutation is one `next` with BAD_REQUEST);
 * - a refusal at subscribe time (auth directive, owner check, the process's
 *   cap, shutting down) is one `next` with the error, then `complete`;
 * - an SSE comment every `heartbeatMs`; at the token's `exp` a final `next`
 *   with UNAUTHENTICATED, at shutdown one with SERVICE_UNAVAILABLE, then `complete`.
 */
export function createStreamEndpoint<TContext extends object>(options: StreamEndpointOptions<TContext>) {
  const open = new Set<Supervised>();
  let reserved = 0;
  let draining = false;
  const streamsEnded = new Set<Promise<void>>();
  /** Per operation context: when its credentials expire, and its supervised stream once subscribed. */
  const expiries = new WeakMap<object, number | undefined>();
  const streams = new WeakMap<object, Supervised>();
  /** Single connection mode: the operations' contexts by stream token (checked at the stream's heartbeats), and each context's token. */
  const tokenContexts = new Map<string, Set<TContext>>();
  const contextTokens = new WeakMap<object, string>();
  /** Tokens reserved (PUT) and not yet streamed (GET), with their expiry timers. */
  const reservations = new Map<string, NodeJS.Timeout>();
  /** Open single-connection event streams, ended at shutdown once their operations have. */
  const shared = new Set<AsyncGenerator<unknown>>();

  // graphql-sse's operation context must be a record: ours travels inside one (`operation`), undefined for the
  // requests that run no operation (PUT, GET, DELETE, and a reservation dropped without a request).
  type Operation = { operation: TContext | undefined };
  const handler = createHandler<IncomingMessage | undefined, { context: TContext | undefined }, Operation>({
    // A reservation (PUT) gets a new unguessable token; other requests name theirs, or none (distinct connections).
    authenticate: (req) => (req.method === 'PUT' ? randomUUID() : (req.headers.get(TOKEN_HEADER_KEY) ?? null)),
    context: (req) => ({ operation: req.context.context }),
    // Validated in onSubscribe (with codes); graphql-sse would validate a second time.
    validate: () => [],
    execute: () => errorResult('This endpoint serves subscriptions only: send queries and mutations to /graphql', 'BAD_REQUEST') as SseResult,
    onSubscribe: (req, params) => {
      const document = subscriptionDocument(options.schema, params.query, params.operationName);
      if (!('kind' in document)) return document as SseResult;
      return {
        schema: options.schema,
        document,
        operationName: params.operationName,
        variableValues: params.variables,
        contextValue: { operation: req.context.context },
      } as OperationArgs<Operation>;
    },
    subscribe: async (args) => {
      const context = args.contextValue.operation;
      // Only POSTs subscribe, and each was authenticated first.
      if (context === undefined) return errorResult('The request carries no verified caller', 'UNAUTHENTICATED') as SseResult;
      // Checked and counted in one synchronous step: concurrent requests cannot pass the cap together.
      if (draining) return errorResult('This service is shutting down: subscribe again', 'SERVICE_UNAVAILABLE') as SseResult;
      if (open.size + reserved >= options.maxOpen) {
        return errorResult(`This process holds its maximum of ${options.maxOpen} subscriptions: subscribe again (another replica may take it)`, TOO_MANY_SUBSCRIPTIONS) as SseResult;
      }
      reserved += 1;
      try {
        const result = await graphqlSubscribe({ ...args, contextValue: context });
        if (!(Symbol.asyncIterator in result)) return result as SseResult;
        const stream = supervise(result, {
          expiresAt: expiries.get(context),
          stillAllowed: options.stillAllowed ? () => options.stillAllowed!(context) : undefined,
          onEnd: () => {
            open.delete(stream);
            const token = contextTokens.get(context);
            if (token) tokenContexts.get(token)?.delete(context);
          },
        });
        open.add(stream);
        streams.set(context, stream);
        // Shutdown began while the subscription was being set up (close() could not see it yet): end it as it would have.
        if (draining) stream.end(errorResult('This service is shutting down: subscribe again', 'SERVICE_UNAVAILABLE'));
        return stream;
      } finally {
        reserved -= 1;
      }
    },
    onNext: async (context, _req, result) => {
      if (options.afterResult && context.operation !== undefined) await options.afterResult(context.operation).catch((error: unknown) => options.log.error({ err: error }, 'after-result hook failed'));
      const errors = (result as ExecutionResult).errors;
      if (!errors || errors.length === 0) return result;
      const formatted = errors.map((e) => options.formatError(e instanceof GraphQLError ? e.toJSON() : { message: String(e) }, e));
      return { ...result, errors: formatted } as unknown as SseResult;
    },
  });

  function call(req: IncomingMessage, body: string, accept: string, context?: TContext) {
    return handler({
      method: req.method ?? 'GET',
      url: req.url ?? STREAM_PATH,
      headers: { get: (key) => (key.toLowerCase() === 'accept' ? accept : headerOf(req, key)) },
      body,
      raw: req,
      context: { context },
    });
  }

  /** Single connection mode: PUT (reserve), GET (the event stream), POST (one operation), DELETE (stop one). */
  async function singleConnection(req: IncomingMessage, res: ServerResponse, body: string, requestId: string): Promise<void> {
    const token = headerOf(req, TOKEN_HEADER_KEY);
    if (req.method === 'PUT') {
      if (draining) return sendJson(res, 503, 'This service is shutting down', 'SERVICE_UNAVAILABLE');
      const [issued, init] = await call(req, body, 'text/plain');
      if (typeof issued === 'string' && init.status === 201) {
        // A reservation never streamed is dropped: opened and closed at once, which frees it in graphql-sse.
        const timer = setTimeout(() => {
          reservations.delete(issued);
          void drop(issued);
        }, RESERVATION_MS);
        timer.unref();
        reservations.set(issued, timer);
      }
      return answer(res, issued, init);
    }
    if (req.method === 'DELETE') {
      const [result, init] = await call(req, body, '*/*');
      return answer(res, result, init);
    }
    if (req.method === 'GET') {
      if (!String(req.headers.accept ?? '').includes('text/event-stream')) return sendJson(res, 406, 'The event stream answers with text/event-stream only', 'NOT_ACCEPTABLE');
      if (token === undefined) return sendJson(res, 404, 'Reserve a stream first (PUT)', 'NOT_FOUND');
      const [stream, init] = await call(req, body, 'text/event-stream');
      if (!stream || typeof stream === 'string') return answer(res, stream, init);
      clearTimeout(reservations.get(token));
      reservations.delete(token);
      shared.add(stream as AsyncGenerator<unknown>);
      try {
        await pipe(res, stream, init, { heartbeatMs: options.heartbeatMs, ended: streamsEnded }, () => {
          const denied = options.stillAllowed ? [...(tokenContexts.get(token) ?? [])].map((context) => [context, options.stillAllowed!(context)] as const) : [];
          for (const [context, error] of denied) if (error) streams.get(context)?.end({ errors: [error] });
        });
      } finally {
        shared.delete(stream as AsyncGenerator<unknown>);
        tokenContexts.delete(token);
      }
      return;
    }
    if (req.method !== 'POST') {
      res.setHeader('allow', 'GET, POST, PUT, DELETE');
      return sendJson(res, 405, 'Method not allowed', 'METHOD_NOT_ALLOWED');
    }
    if (!String(req.headers['content-type'] ?? '').includes('application/json')) return sendJson(res, 415, 'The request body must be JSON (content-type: application/json)', 'UNSUPPORTED_MEDIA_TYPE');
    const context = await authenticate(req, res, requestId);
    if (!context) return;
    contextTokens.set(context, token!);
    let contexts = tokenContexts.get(token!);
    if (!contexts) tokenContexts.set(token!, (contexts = new Set()));
    contexts.add(context);
    const [result, init] = await call(req, body, 'application/json', context);
    // Refused before it subscribed (no stream, a bad request): nothing to check at heartbeats.
    if (init.status !== 202 || !streams.has(context)) contexts.delete(context);
    if (contexts.size === 0 && !shared.size) tokenContexts.delete(token!);
    return answer(res, result, init);
  }

  /** Frees a reservation whose stream was never opened. */
  async function drop(token: string): Promise<void> {
    const [stream] = await handler({ method: 'GET', url: STREAM_PATH, headers: { get: (key) => (key.toLowerCase() === 'accept' ? 'text/event-stream' : key.toLowerCase() === TOKEN_HEADER_KEY ? token : undefined) }, body: '', raw: undefined, context: { context: undefined } });
    if (stream && typeof stream !== 'string') await (stream as AsyncGenerator<unknown>).return(undefined);
    tokenContexts.delete(token);
  }

  /** The caller's context, its credentials' expiry noted; undefined once a 401 was sent for a token that does not verify. */
  async function authenticate(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<TContext | undefined> {
    let context: TContext;
    try {
      context = await options.context(req, requestId);
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED') {
        sendJson(res, 401, error.message, 'UNAUTHENTICATED');
        return undefined;
      }
      throw error;
    }
    expiries.set(context, options.expiresAt(req, context));
    return context;
  }

  return {
    /** Streams open in this process (subscribed, not yet ended). */
    get open() {
      return open.size;
    },
    /** Operations of single-connection streams, by stream (tests: several subscriptions on one connection). */
    get sharedStreams(): number[] {
      return [...tokenContexts.values()].map((contexts) => contexts.size);
    },
    async handle(req: IncomingMessage, res: ServerResponse, body: string, requestId: string): Promise<void> {
      const refusal = options.guard?.(req);
      if (refusal) return sendJson(res, refusal.status, refusal.message, refusal.code);
      if (req.method !== 'POST' || headerOf(req, TOKEN_HEADER_KEY) !== undefined) return singleConnection(req, res, body, requestId);
      const accept = String(req.headers.accept ?? '');
      if (!accept.includes('text/event-stream')) return sendJson(res, 406, 'This endpoint answers with text/event-stream only: send accept: text/event-stream', 'NOT_ACCEPTABLE');
      if (!String(req.headers['content-type'] ?? '').includes('application/json')) return sendJson(res, 415, 'The request body must be JSON (content-type: application/json)', 'UNSUPPORTED_MEDIA_TYPE');
      // A client may leave while the subscription is being set up: it is released as soon as there is one.
      let gone = false;
      let release: (() => void) | undefined;
      const onClose = () => {
        gone = true;
        release?.();
      };
      res.once('close', onClose);
      const context = await authenticate(req, res, requestId);
      if (!context) return;
      const [stream, init] = await handler({
        method: 'POST',
        url: req.url ?? STREAM_PATH,
        headers: { get: (key) => (key.toLowerCase() === 'accept' ? 'text/event-stream' : headerOf(req, key)) },
        body,
        raw: req,
        context: { context },
      });
      if (!stream || typeof stream === 'string') {
        res.off('close', onClose);
        res.writeHead(init.status, init.headers ?? JSON_HEADERS);
        res.end(stream ?? undefined);
        return;
      }
      release = () => void stream.return(undefined);
      if (gone) release();
      // From here the pipe watches the client: its close ends the stream.
      res.off('close', onClose);
      // Each heartbeat also re-checks the caller (a signed-out session ends the stream).
      await pipe(res, stream as AsyncGenerator<string, void, undefined>, init, { heartbeatMs: options.heartbeatMs, ended: streamsEnded }, () => {
        const denied = options.stillAllowed?.(context);
        if (denied) streams.get(context)?.end({ errors: [denied] });
      });
    },
    /** Shutdown: refuses new streams and ends every open one with SERVICE_UNAVAILABLE; resolves once they are flushed. */
    async close(): Promise<void> {
      draining = true;
      for (const stream of open) stream.end(errorResult('This service is shutting down: subscribe again', 'SERVICE_UNAVAILABLE'));
      for (const timer of reservations.values()) clearTimeout(timer);
      // Shared event streams carry their operations' last events first, then end.
      if (shared.size > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      for (const stream of shared) void stream.return(undefined);
      await Promise.allSettled([...streamsEnded]);
    },
  };
}

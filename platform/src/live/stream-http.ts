import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, GraphQLError, parse, validate, type DocumentNode, type ExecutionResult, type GraphQLSchema } from 'graphql';

/** The HTTP side of /graphql/stream (stream.ts): refusals as JSON, event streams with heartbeats, the operation checks. */

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

/** `data: null` included: graphql-sse takes what onSubscribe returns for a result only when it has `data`. */
export function errorResult(message: string, code: string): ExecutionResult {
  return { data: null, errors: [new GraphQLError(message, { extensions: { code } })] };
}

/** The document of a subscription, parsed and validated; else the result that refuses it (with its code). */
export function subscriptionDocument(schema: GraphQLSchema, query: string, operationName: string | undefined): DocumentNode | ExecutionResult {
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch (error) {
    return errorResult(error instanceof GraphQLError ? error.message : 'The document could not be parsed', 'GRAPHQL_PARSE_FAILED');
  }
  const operation = getOperationAST(document, operationName);
  if (!operation) return errorResult('The document must name one operation to run (operationName)', 'BAD_REQUEST');
  if (operation.operation !== 'subscription') {
    return errorResult('This endpoint serves subscriptions only: send queries and mutations to /graphql', 'BAD_REQUEST');
  }
  const invalid = validate(schema, document);
  if (invalid.length > 0) {
    return { data: null, errors: invalid.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) };
  }
  return document;
}

/** The handler's answer to a request that is not an event stream: status, headers, body. */
export function answer(res: ServerResponse, body: unknown, init: { status: number; headers?: Record<string, string> | undefined }): void {
  res.writeHead(init.status, init.headers ?? (typeof body === 'string' ? JSON_HEADERS : {}));
  res.end(typeof body === 'string' ? body : undefined);
}

/** Writes an event stream to the response with SSE comment heartbeats (`onHeartbeat` after each) until either side ends it. */
export async function pipe(
  res: ServerResponse,
  stream: AsyncGenerator<string, void, undefined>,
  init: { status: number; headers?: Record<string, string> | undefined },
  streams: { heartbeatMs: number; ended: Set<Promise<void>> },
  onHeartbeat: () => void,
): Promise<void> {
  let gone = false;
  const onClose = () => {
    gone = true;
    void stream.return(undefined);
  };
  res.once('close', onClose);
  res.writeHead(init.status, { ...init.headers, 'x-accel-buffering': 'no' });
  res.flushHeaders();
  const heartbeat = setInterval(() => {
    if (!gone && !res.destroyed) res.write(':\n\n');
    onHeartbeat();
  }, streams.heartbeatMs);
  const done = (async () => {
    try {
      for await (const chunk of stream) {
        if (gone || res.destroyed) break;
        res.write(chunk);
      }
    } finally {
      clearInterval(heartbeat);
      res.off('close', onClose);
      res.end();
    }
  })();
  streams.ended.add(done);
  try {
    await done;
  } finally {
    streams.ended.delete(done);
  }
}


export function headerOf(req: IncomingMessage, key: string): string | undefined {
  const value = req.headers[key.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function sendJson(res: ServerResponse, status: number, message: string, code: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

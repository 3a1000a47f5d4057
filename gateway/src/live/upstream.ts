import { randomUUID } from 'node:crypto';
import type { ExecutionResult } from 'graphql';
import { TOKEN_HEADER_KEY } from 'graphql-sse';
import { Agent, type Dispatcher } from 'undici';

/**
 * The connections upstream streams use: a stream silent for `idleMs` (no
 * event, no heartbeat; subgraphs send one every 10 to 12 s) is taken as lost,
 * as is one whose response headers take as long, so a subgraph that froze or
 * a connection that died without a FIN ends its subscriptions instead of
 * holding them forever.
 */
export function upstreamAgent(idleMs: number): Agent {
  return new Agent({ headersTimeout: idleMs, bodyTimeout: idleMs, connectTimeout: Math.min(idleMs, 5_000), connections: UPSTREAM_CONNECTIONS });
}

/**
 * TCP connections to one subgraph instance at most, whatever the number of
 * subscriptions: one holds the event stream, the others carry the short
 * requests that start and stop operations (a burst of subscribes queues on them).
 */
export const UPSTREAM_CONNECTIONS = 6;

/** Where a subgraph's subscriptions are served (LIVE.md): `<its /graphql URL>/stream`. */
export function streamUrl(graphqlUrl: string): string {
  return `${graphqlUrl.replace(/\/+$/, '')}/stream`;
}

/** How an upstream subscription ended. */
export type UpstreamEnd =
  /** The subgraph completed it. */
  | { kind: 'complete' }
  /** The subgraph refused it before streaming (HTTP 401/403: token or gateway secret). */
  | { kind: 'refused'; status: number }
  /** Unreachable, cut off (restart, crash) or unreadable. */
  | { kind: 'lost'; error: unknown };

export interface UpstreamHandlers {
  /** The subgraph accepted the operation. */
  opened(): void;
  event(result: ExecutionResult): void;
  end(end: UpstreamEnd): void;
}

export interface UpstreamRequest {
  url: string;
  /** The operation's own headers (authorization, request id, client address, budget, gateway secret). */
  headers: Record<string, string>;
  query: string;
  variables: Record<string, unknown>;
  operationName: string | undefined;
}

interface Operation {
  handlers: UpstreamHandlers;
  ended: boolean;
  /** Settles once the subgraph answered the operation's POST (true: accepted, so a DELETE must follow if it is stopped). */
  posted?: Promise<boolean>;
}

/**
 * The gateway's subscriptions on its subgraphs, multiplexed: one event stream
 * per subgraph instance (URL) carries every subscription there, in
 * graphql-sse's single connection mode — PUT reserves a stream, GET with the
 * `x-graphql-event-stream-token` header opens it, each operation is a POST
 * with the token and its own headers (so the subgraph authenticates, limits
 * and expires each one as a request of its own), DELETE `?operationId=`
 * stops one. A minimal client of that protocol over undici rather than
 * graphql-sse's createClient: the latter takes one set of headers per client,
 * and each of these operations must carry its caller's.
 *
 * A stream opens with its first operation and closes with its last (closing
 * it stops, on the subgraph, whatever is left on it). Lost (subgraph restart,
 * silent past the agent's idle timeout, unreadable), it ends every operation
 * on it as lost; the next operation opens a new one. Never retried here: a
 * lost stream ends the client's subscriptions with a reason, and clients
 * decide to subscribe again.
 */
export class UpstreamStreams {
  private readonly streams = new Map<string, SharedStream>();

  /** @param headers sent on the stream's own requests (PUT, GET, DELETE): the gateway's secret. */
  constructor(
    private readonly agent: Dispatcher,
    private readonly headers: Record<string, string>,
  ) {}

  /** Upstream event streams open or opening (one per subgraph instance in use). */
  get size(): number {
    return this.streams.size;
  }

  /** Starts one subscription; the returned function stops it (a DELETE, or closing the stream if it was the last). */
  open(request: UpstreamRequest, handlers: UpstreamHandlers): () => void {
    let stream = this.streams.get(request.url);
    if (!stream || stream.closed) {
      const created = new SharedStream(request.url, this.agent, this.headers, () => {
        if (this.streams.get(request.url) === created) this.streams.delete(request.url);
      });
      this.streams.set(request.url, created);
      stream = created;
    }
    return stream.add(request, handlers);
  }

  /** Closes every stream (their operations end as lost, unless stopped before). */
  close(): void {
    for (const stream of [...this.streams.values()]) stream.close(new Error('the gateway is closing its upstream streams'));
  }
}

class SharedStream {
  closed = false;
  private readonly operations = new Map<string, Operation>();
  private readonly origin: string;
  private readonly path: string;
  private token: string | undefined;
  private body: Dispatcher.ResponseData['body'] | undefined;
  private readonly abort = new AbortController();
  /** Resolves once the event stream is open (its response headers arrived); rejects if it could not be opened. */
  private readonly ready: Promise<void>;

  constructor(
    url: string,
    private readonly agent: Dispatcher,
    private readonly headers: Record<string, string>,
    private readonly onClosed: () => void,
  ) {
    const parsed = new URL(url);
    this.origin = parsed.origin;
    this.path = `${parsed.pathname}${parsed.search}`;
    this.ready = this.connect();
    // Failures reach each operation through its own await; this only keeps an unobserved rejection quiet.
    this.ready.catch(() => {});
  }

  private async connect(): Promise<void> {
    const reserved = await this.agent.request({ origin: this.origin, path: this.path, method: 'PUT', headers: { ...this.headers, accept: 'text/plain' }, signal: this.abort.signal });
    const token = await reserved.body.text();
    if (reserved.statusCode !== 201) throw new UpstreamStatusError(reserved.statusCode, 'reserving the stream');
    this.token = token;
    const response = await this.agent.request({
      origin: this.origin,
      path: this.path,
      method: 'GET',
      headers: { ...this.headers, accept: 'text/event-stream', [TOKEN_HEADER_KEY]: token },
      signal: this.abort.signal,
    });
    if (response.statusCode !== 200) {
      await response.body.dump().catch(() => {});
      throw new UpstreamStatusError(response.statusCode, 'opening the stream');
    }
    this.body = response.body;
    void this.read(response.body);
  }

  /** Reads the event stream to its end: `next` and `complete` events of its operations; comments (heartbeats) only keep it alive. */
  private async read(body: Dispatcher.ResponseData['body']): Promise<void> {
    let error: unknown = new Error('the upstream event stream ended');
    try {
      body.setEncoding('utf8');
      let buffer = '';
      for await (const chunk of body as AsyncIterable<string>) {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          this.dispatch(message);
        }
      }
    } catch (thrown) {
      error = thrown;
    }
    this.close(error);
  }

  private dispatch(message: string): void {
    let event = '';
    let data = '';
    for (const line of message.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trimStart();
    }
    if (event === '' || data === '') return;
    let parsed: { id?: unknown; payload?: unknown };
    try {
      parsed = JSON.parse(data) as { id?: unknown; payload?: unknown };
    } catch (error) {
      this.close(error);
      return;
    }
    const id = typeof parsed?.id === 'string' ? parsed.id : undefined;
    const operation = id === undefined ? undefined : this.operations.get(id);
    if (!operation || operation.ended) return;
    if (event === 'next') operation.handlers.event(parsed.payload as ExecutionResult);
    else if (event === 'complete') this.finish(id!, { kind: 'complete' });
  }

  add(request: UpstreamRequest, handlers: UpstreamHandlers): () => void {
    const id = randomUUID();
    const operation: Operation = { handlers, ended: false };
    this.operations.set(id, operation);
    void this.post(id, operation, request);
    return () => {
      if (operation.ended) return;
      operation.ended = true;
      this.operations.delete(id);
      if (this.operations.size === 0) return this.close(undefined);
      // Stopped on the subgraph once it is known there (a DELETE before the POST is answered would find nothing).
      void operation.posted?.then((accepted) => (accepted && !this.closed ? this.remove(id) : undefined));
    };
  }

  private async post(id: string, operation: Operation, request: UpstreamRequest): Promise<void> {
    let settle!: (accepted: boolean) => void;
    operation.posted = new Promise((resolve) => (settle = resolve));
    try {
      await this.ready;
      if (operation.ended) return settle(false);
      const response = await this.agent.request({
        origin: this.origin,
        path: this.path,
        method: 'POST',
        headers: { ...request.headers, accept: 'application/json', 'content-type': 'application/json', [TOKEN_HEADER_KEY]: this.token! },
        body: JSON.stringify({
          query: request.query,
          variables: request.variables,
          ...(request.operationName ? { operationName: request.operationName } : {}),
          extensions: { operationId: id },
        }),
      });
      await response.body.dump().catch(() => {});
      settle(response.statusCode === 202);
      if (operation.ended) return;
      if (response.statusCode === 202) return operation.handlers.opened();
      if (response.statusCode === 401 || response.statusCode === 403) return this.finish(id, { kind: 'refused', status: response.statusCode });
      this.finish(id, { kind: 'lost', error: new UpstreamStatusError(response.statusCode, 'starting the subscription') });
    } catch (error) {
      settle(false);
      // The stream refused outright (the gateway's secret): as a refused operation, with its status.
      if (error instanceof UpstreamStatusError && (error.status === 401 || error.status === 403)) return this.finish(id, { kind: 'refused', status: error.status });
      this.finish(id, { kind: 'lost', error });
    }
  }

  private async remove(id: string): Promise<void> {
    try {
      const response = await this.agent.request({
        origin: this.origin,
        path: `${this.path}${this.path.includes('?') ? '&' : '?'}operationId=${encodeURIComponent(id)}`,
        method: 'DELETE',
        headers: { ...this.headers, [TOKEN_HEADER_KEY]: this.token! },
      });
      await response.body.dump();
    } catch {
      // The stream is gone (and with it the operation), or will be found lost by its reader.
    }
  }

  /** Ends one operation (the stream closes with its last). */
  private finish(id: string, end: UpstreamEnd): void {
    const operation = this.operations.get(id);
    if (!operation || operation.ended) return;
    operation.ended = true;
    this.operations.delete(id);
    operation.handlers.end(end);
    if (this.operations.size === 0) this.close(undefined);
  }

  /** Closes the stream: every operation still on it ends as lost with `error` (none left when the last one stopped). */
  close(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    this.abort.abort();
    this.body?.destroy();
    for (const [id, operation] of [...this.operations]) {
      if (operation.ended) continue;
      operation.ended = true;
      this.operations.delete(id);
      operation.handlers.end({ kind: 'lost', error: error ?? new Error('the upstream event stream closed') });
    }
  }
}

class UpstreamStatusError extends Error {
  constructor(
    readonly status: number,
    doing: string,
  ) {
    super(`the subgraph answered HTTP ${status} ${doing}`);
  }
}

import { createClient, NetworkError } from 'graphql-sse';
import type { ExecutionResult } from 'graphql';
import { Agent, fetch } from 'undici';

/**
 * The connections upstream streams use: a stream silent for `idleMs` (no
 * event, no heartbeat; subgraphs send one every 10 to 12 s) is taken as lost,
 * as is one whose response headers take as long, so a subgraph that froze or
 * a connection that died without a FIN ends its subscriptions instead of
 * holding them forever.
 */
export function upstreamAgent(idleMs: number): Agent {
  return new Agent({ headersTimeout: idleMs, bodyTimeout: idleMs, connectTimeout: Math.min(idleMs, 5_000) });
}

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
  /** The stream's HTTP response arrived: the subgraph accepted it. */
  opened(): void;
  event(result: ExecutionResult): void;
  end(end: UpstreamEnd): void;
}

export interface UpstreamRequest {
  url: string;
  agent: Agent;
  headers: Record<string, string>;
  query: string;
  variables: Record<string, unknown>;
  operationName: string | undefined;
}

/**
 * Opens the primary fetch on the owning subgraph over graphql-sse, distinct
 * connections mode: one HTTP response per subscription, so closing it (the
 * returned function) is what tells the subgraph to stop, at once, with no
 * second request. Never retried here: a lost stream ends the client's
 * subscription with a reason, and the client decides to subscribe again.
 */
export function openUpstream(request: UpstreamRequest, handlers: UpstreamHandlers): () => void {
  let ended = false;
  const end = (value: UpstreamEnd) => {
    if (ended) return;
    ended = true;
    handlers.end(value);
  };
  const client = createClient({
    url: request.url,
    headers: request.headers,
    retryAttempts: 0,
    fetchFn: (input: string, init: Parameters<typeof fetch>[1]) => fetch(input, { ...init, dispatcher: request.agent }),
  });
  const dispose = client.subscribe<Record<string, unknown>>(
    { query: request.query, variables: request.variables, ...(request.operationName ? { operationName: request.operationName } : {}) },
    {
      next: (result) => {
        if (!ended) handlers.event(result as ExecutionResult);
      },
      error: (error) => {
        const status = error instanceof NetworkError ? error.response?.status : undefined;
        end(status === 401 || status === 403 ? { kind: 'refused', status } : { kind: 'lost', error });
      },
      complete: () => end({ kind: 'complete' }),
    },
    { connected: () => handlers.opened() },
  );
  return () => {
    ended = true;
    dispose();
    client.dispose();
  };
}

import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testToken } from '@suoke/platform/testing';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createGateway, loadGatewayConfig } from '../gateway/src/server.js';
import { composeTestSupergraph, startEventsSubgraph, startExtrasSubgraph } from './live-fixtures.js';

/**
 * The live test stack: the `events` and `extras` subgraphs (live-fixtures.ts)
 * and a gateway on their composed supergraph (caps of 3 per user and 6 per
 * process, a 300 ms keepalive), with graphql-ws clients closed after each test
 * and every subscription checked released, gateway side and upstream.
 */
export const SECRET = 'live-test-gateway-secret-0123456789';
/** The user whose streams the events subgraph refuses with 401. */
export const REFUSED = `refused-${randomUUID()}`;
export const TICK = 'subscription Tick($channel: String!) { tick(channel: $channel) { id name extra } }';

export type Payload = { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

export async function waitFor(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const user = () => ({ id: `live-${randomUUID()}` });
export const codesOf = (payload: Payload | undefined) => (payload?.errors ?? []).map((e) => e.extensions?.code);
/** The code of the first error of a subscription refused at subscribe (graphql-ws `error` message). */
export const refusalOf = (error: unknown) => (error as { extensions?: Record<string, unknown> }[] | undefined)?.[0]?.extensions;

export function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const received: Payload[] = [];
  const state: { completed: boolean; error?: unknown } = { completed: false };
  const unsubscribe = client.subscribe<Record<string, any>>(
    { query, variables },
    {
      next: (value) => received.push(value as Payload),
      error: (error) => (state.error = error),
      complete: () => (state.completed = true),
    },
  );
  return { received, state, unsubscribe, ended: () => state.completed || state.error !== undefined };
}

export interface LiveStack {
  /** The gateway's /graphql over HTTP (multipart and SSE subscriptions, queries). */
  httpUrl: string;
  events: Awaited<ReturnType<typeof startEventsSubgraph>>;
  extras: Awaited<ReturnType<typeof startExtrasSubgraph>>;
  supergraphPath: string;
  gateway: ReturnType<typeof createGateway>;
  wsUrl: string;
  startGateway(env?: Record<string, string>, subgraphUrls?: Record<string, string>): ReturnType<typeof createGateway>;
  connect(connectionParams?: Record<string, unknown>, url?: string): { client: Client; closed: { code: number; reason: string }[] };
  connectAs(who: { id: string } | undefined, options?: { ttlSeconds?: number }, url?: string): Promise<{ client: Client; closed: { code: number; reason: string }[] }>;
}

/** Registers the stack's lifecycle hooks in the calling test file; its parts are set once `beforeAll` has run. */
export function useLiveStack(gatewayEnv: Record<string, string> = {}): LiveStack {
  const clients: Client[] = [];
  const stack: LiveStack = {
    events: undefined as never,
    extras: undefined as never,
    supergraphPath: '',
    gateway: undefined as never,
    wsUrl: '',
    httpUrl: '',
    /** Another gateway over the same supergraph (stopped by the test). */
    startGateway(env: Record<string, string> = {}, subgraphUrls?: Record<string, string>) {
      return createGateway({
        config: loadGatewayConfig({
          // Not about field usage (tests/usage.test.ts): no store, and never the repository's .data/gateway-usage.
          USAGE_RECORDING: 'off',
          NODE_ENV: 'test',
          LOG_LEVEL: 'silent',
          GATEWAY_SECRET: SECRET,
          SUPERGRAPH_PATH: stack.supergraphPath,
          SUPERGRAPH_POLL_MS: '200',
          GATEWAY_SUBSCRIPTIONS_MAX_PER_USER: '3',
          GATEWAY_SUBSCRIPTIONS_MAX: '6',
          GATEWAY_WS_KEEPALIVE_MS: '300',
          ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
          ...env,
        }),
        subgraphUrls: subgraphUrls ?? { events: stack.events.url, extras: stack.extras.url },
      });
    },
    /** A lazy graphql-ws client (no retries) with these connection params, closed after the test. */
    connect(connectionParams: Record<string, unknown> = {}, url = stack.wsUrl) {
      const closed: { code: number; reason: string }[] = [];
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        connectionParams,
        retryAttempts: 0,
        lazy: true,
        on: { closed: (event) => closed.push({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }) },
      });
      clients.push(client);
      return { client, closed };
    },
    async connectAs(who: { id: string } | undefined, options: { ttlSeconds?: number } = {}, url = stack.wsUrl) {
      return stack.connect(who ? { authorization: `Bearer ${await testToken(who, options)}` } : {}, url);
    },
  };

  beforeAll(async () => {
    stack.events = await startEventsSubgraph({ refusedUser: REFUSED });
    stack.extras = await startExtrasSubgraph();
    stack.supergraphPath = path.join(mkdtempSync(path.join(tmpdir(), 'live-')), 'supergraph.graphql');
    writeFileSync(stack.supergraphPath, composeTestSupergraph([stack.events, stack.extras]));
    stack.gateway = stack.startGateway(gatewayEnv);
    stack.httpUrl = (await stack.gateway.listen(0, '127.0.0.1')).url;
    stack.wsUrl = stack.httpUrl.replace(/^http/, 'ws');
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.dispose();
    await waitFor(() => stack.gateway.liveStats.subscriptions === 0 && stack.events.openStreams() === 0, 'every subscription released, upstream too');
  });

  afterAll(async () => {
    await stack.gateway?.stop();
    await stack.events?.close();
    await stack.extras?.close();
  });

  return stack;
}

export const MULTIPART_ACCEPT = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json';
export const SSE_ACCEPT = 'text/event-stream';

/** What an HTTP subscription (multipart or SSE) has received so far, read as a raw client would. */
export interface HttpStream {
  status: number;
  headers: Headers;
  /** Parsed parts (multipart: `{payload…}` and heartbeats `{}`), or SSE messages `{ event, data }`. */
  parts: any[];
  /** Every byte received, as text. */
  raw: () => string;
  /** The response body ended. */
  ended: () => boolean;
  /** Leaves (closes the connection). */
  abort(): void;
  /** The JSON body of a response that is not a stream. */
  json?: any;
}

/**
 * POSTs a subscription to the gateway's /graphql as curl or a browser would,
 * with `accept` choosing the transport; resolves once the response headers
 * are in, then keeps reading in the background.
 */
export async function postSubscription(
  url: string,
  body: Record<string, unknown>,
  options: { accept: string; token?: string; headers?: Record<string, string> },
): Promise<HttpStream> {
  const controller = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: options.accept, ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
    body: JSON.stringify(body),
    signal: controller.signal,
  });
  const type = response.headers.get('content-type') ?? '';
  const stream: HttpStream = { status: response.status, headers: response.headers, parts: [], raw: () => text, ended: () => done, abort: () => controller.abort() };
  let text = '';
  let done = false;
  if (type.startsWith('application/json')) {
    stream.json = await response.json();
    done = true;
    return stream;
  }
  const multipart = type.startsWith('multipart/mixed');
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        stream.parts.splice(0, stream.parts.length, ...(multipart ? multipartParts(text) : sseMessages(text)));
      }
    } catch {
      // aborted
    } finally {
      done = true;
    }
  })();
  return stream;
}

/** The complete parts of a multipart body: each is closed by the next boundary. */
export function multipartParts(text: string): any[] {
  const pieces = text.split('\r\n--graphql');
  // The last piece is not closed by a boundary yet (or is the closing `--`).
  return pieces.slice(1, -1).map((piece) => JSON.parse(piece.slice(piece.indexOf('\r\n\r\n') + 4)));
}

/** The complete messages of an event stream (comments, i.e. heartbeats, as `{ comment: true }`). */
export function sseMessages(text: string): any[] {
  const blocks = text.split('\n\n');
  return blocks.slice(0, -1).map((block) => {
    if (block.startsWith(':')) return { comment: true };
    const event = /^event: (.*)$/m.exec(block)?.[1];
    const data = /^data:(.*)$/m.exec(block)?.[1]?.trim();
    return { event, data: data ? JSON.parse(data) : null };
  });
}

import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { composeServices } from '@apollo/composition';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse, type DocumentNode, type GraphQLSchema } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/http';
import { fragmentSDL, RATE_LIMIT_SPEC_URL } from '@suoke/platform';

/**
 * Two subgraphs made for the live path, until the real ones serve
 * subscriptions: `events` owns `Thing` and `Subscription.tick(channel)` (and
 * `limited`, rate-limited), `extras` adds `Thing.extra`, so every event needs
 * the rest of the plan to answer `extra`. Each serves /graphql (queries and
 * entity fetches) and POST /graphql/stream (graphql-sse, distinct connections)
 * as LIVE.md says, and records what it was sent.
 */
const RATE_LIMIT_SDL = fragmentSDL(RATE_LIMIT_SPEC_URL);

export const eventsSdl = (options: { limited?: boolean } = {}) => `
extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@composeDirective"])
  @link(url: "https://specs.suoke.life/rateLimit/v1.0", import: ["@rateLimit"])
  @composeDirective(name: "@rateLimit")
${RATE_LIMIT_SDL}
"""A thing that ticks."""
type Thing @key(fields: "id") {
  """Its id."""
  id: ID!
  """Its name."""
  name: String
}
"""Reads."""
type Query {
  """One thing."""
  thing(id: ID!): Thing
}
"""Events."""
type Subscription {
  """Every thing published on a channel."""
  tick(channel: String!): Thing
${options.limited === false ? '' : '  """As tick on channel "limited", at most twice a minute per caller."""\n  limited: Thing @rateLimit(limit: 2, duration: 60)'}
}
`;
export const EVENTS_SDL = eventsSdl();

export const EXTRAS_SDL = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
"""A thing, seen from extras."""
type Thing @key(fields: "id") {
  """Its id."""
  id: ID!
  """What extras knows about it."""
  extra: String
}
`;

/** An event source whose `return()` takes effect at once (the subgraph side of a test stream). */
class Feed implements AsyncIterableIterator<unknown> {
  private readonly queue: unknown[] = [];
  private waiter: (() => void) | undefined;
  private done = false;
  constructor(private readonly onReturn: () => void) {}
  push(value: unknown): void {
    this.queue.push(value);
    this.waiter?.();
  }
  async next(): Promise<IteratorResult<unknown>> {
    for (;;) {
      if (this.done) return { done: true, value: undefined };
      if (this.queue.length > 0) return { done: false, value: this.queue.shift() };
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
  async return(): Promise<IteratorResult<unknown>> {
    if (!this.done) {
      this.done = true;
      this.onReturn();
      this.waiter?.();
    }
    return { done: true, value: undefined };
  }
  [Symbol.asyncIterator]() {
    return this;
  }
}

export interface TestSubgraph {
  name: string;
  url: string;
  typeDefs: DocumentNode;
  /** Headers of every request received (queries, entity fetches and streams). */
  requests: { path: string; method?: string | undefined; headers: IncomingHttpHeaders; body?: unknown }[];
  /** Stream responses still open (event streams, and stream requests not answered yet). */
  openStreams(): number;
  /** TCP connections open to this subgraph now, and accepted since it started (from gateways, in these tests). */
  connections(): { open: number; accepted: number };
  /** Streams are answered this long after they arrive (0: at once). */
  acceptDelay: { ms: number };
  /** Cuts every open stream without a word (a crash or a lost connection). */
  cutStreams(): void;
  close(): Promise<void>;
}

const subOf = (authorization: string | undefined): string | undefined => {
  const payload = authorization?.split('.')[1];
  try {
    return payload ? (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: string }).sub : undefined;
  } catch {
    return undefined;
  }
};

async function serve(name: string, typeDefs: DocumentNode, schema: GraphQLSchema, refuse: (headers: IncomingHttpHeaders) => boolean): Promise<TestSubgraph> {
  const requests: TestSubgraph['requests'] = [];
  const streams = new Set<ServerResponse>();
  const acceptDelay = { ms: 0 };
  const sse = createHandler({ schema });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/graphql/stream') {
      requests.push({ path: url.pathname, method: req.method, headers: req.headers });
      if (refuse(req.headers)) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }] }));
        return;
      }
      streams.add(res);
      res.once('close', () => streams.delete(res));
      // A slow start (an ownership check on a busy database): the stream is not answered for a while.
      setTimeout(() => {
        if (!res.destroyed) void sse(req, res).catch(() => res.destroy());
      }, acceptDelay.ms);
      return;
    }
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as { query: string; variables?: Record<string, unknown>; operationName?: string };
      requests.push({ path: url.pathname, headers: req.headers, body });
      void graphql({ schema, source: body.query, variableValues: body.variables ?? {}, operationName: body.operationName ?? null }).then((result) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      });
    });
  });
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (socket: Socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    url: `http://127.0.0.1:${port}/graphql`,
    typeDefs,
    requests,
    openStreams: () => streams.size,
    connections: () => ({ open: sockets.size, accepted }),
    acceptDelay,
    cutStreams: () => {
      for (const res of streams) res.socket?.destroy();
    },
    close: async () => {
      for (const res of streams) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The `events` subgraph, with `publish(channel, thing)` and the feeds subscribed now. */
export async function startEventsSubgraph(options: { refusedUser?: string } = {}) {
  const feeds = new Map<string, Set<Feed>>();
  const subscribeTo = (channel: string) => {
    const set = feeds.get(channel) ?? new Set<Feed>();
    feeds.set(channel, set);
    const feed: Feed = new Feed(() => set.delete(feed));
    set.add(feed);
    return feed;
  };
  const typeDefs = parse(EVENTS_SDL);
  const schema = buildSubgraphSchema({
    typeDefs,
    resolvers: {
      Query: { thing: (_: unknown, { id }: { id: string }) => ({ id, name: `thing ${id}` }) },
      Subscription: {
        tick: { subscribe: (_: unknown, { channel }: { channel: string }) => subscribeTo(channel), resolve: (thing: unknown) => thing },
        limited: { subscribe: () => subscribeTo('limited'), resolve: (thing: unknown) => thing },
      },
      Thing: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, name: `thing ${ref.id}` }) },
    } as never,
  });
  const subgraph = await serve('events', typeDefs, schema, (headers) => options.refusedUser !== undefined && subOf(headers.authorization) === options.refusedUser);
  return {
    ...subgraph,
    /** Subscribers to a channel on this subgraph now. */
    subscribers: (channel: string) => feeds.get(channel)?.size ?? 0,
    publish(channel: string, thing: { id: string; name?: string }) {
      for (const feed of feeds.get(channel) ?? []) feed.push(thing);
    },
  };
}

/** The `extras` subgraph: `Thing.extra` is "extra-<id>". */
export async function startExtrasSubgraph() {
  const typeDefs = parse(EXTRAS_SDL);
  const schema = buildSubgraphSchema({
    typeDefs,
    resolvers: {
      Thing: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }), extra: (thing: { id: string }) => `extra-${thing.id}` },
    } as never,
  });
  return serve('extras', typeDefs, schema, () => false);
}

/** The supergraph of the given subgraphs (composition errors thrown). */
export function composeTestSupergraph(subgraphs: { name: string; url: string; typeDefs: DocumentNode }[]): string {
  const result = composeServices(subgraphs.map(({ name, url, typeDefs }) => ({ name, url, typeDefs })));
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { testToken } from '@suoke/platform/testing';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, loadGatewayConfig } from '../gateway/src/server.js';
import { parse } from 'graphql';
import { composeTestSupergraph, eventsSdl, startEventsSubgraph, startExtrasSubgraph } from './live-fixtures.js';

/**
 * Subscriptions through the gateway over GraphQL over WebSocket, against two
 * subgraphs made for it (live-fixtures.ts): real sockets, the graphql-ws
 * client, a real graphql-sse stream to the owning subgraph, and the rest of
 * each event's plan fetched from the other subgraph through the gateway's
 * data sources.
 */
const SECRET = 'live-test-gateway-secret-0123456789';
const REFUSED = `refused-${randomUUID()}`;
let events: Awaited<ReturnType<typeof startEventsSubgraph>>;
let extras: Awaited<ReturnType<typeof startExtrasSubgraph>>;
let supergraphPath: string;
let gateway: ReturnType<typeof createGateway>;
let wsUrl: string;
const clients: Client[] = [];

function startGateway(env: Record<string, string> = {}) {
  return createGateway({
    config: loadGatewayConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      GATEWAY_SECRET: SECRET,
      SUPERGRAPH_PATH: supergraphPath,
      SUPERGRAPH_POLL_MS: '200',
      GATEWAY_SUBSCRIPTIONS_MAX_PER_USER: '3',
      GATEWAY_SUBSCRIPTIONS_MAX: '6',
      GATEWAY_WS_KEEPALIVE_MS: '300',
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      ...env,
    }),
    subgraphUrls: { events: events.url, extras: extras.url },
  });
}

beforeAll(async () => {
  events = await startEventsSubgraph({ refusedUser: REFUSED });
  extras = await startExtrasSubgraph();
  supergraphPath = path.join(mkdtempSync(path.join(tmpdir(), 'live-')), 'supergraph.graphql');
  writeFileSync(supergraphPath, composeTestSupergraph([events, extras]));
  gateway = startGateway();
  wsUrl = (await gateway.listen(0, '127.0.0.1')).url.replace(/^http/, 'ws');
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  await waitFor(() => gateway.liveStats.subscriptions === 0 && events.openStreams() === 0, 'every subscription released, upstream too');
});

afterAll(async () => {
  await gateway?.stop();
  await events?.close();
  await extras?.close();
});

async function waitFor(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const user = () => ({ id: `live-${randomUUID()}` });

function connect(connectionParams: Record<string, unknown> = {}, url = wsUrl) {
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
}

async function connectAs(who: { id: string } | undefined, options: { ttlSeconds?: number } = {}) {
  return connect(who ? { authorization: `Bearer ${await testToken(who, options)}` } : {});
}

type Payload = { data?: Record<string, any> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };

function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}) {
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

const TICK = 'subscription Tick($channel: String!) { tick(channel: $channel) { id name extra } }';
const codesOf = (payload: Payload | undefined) => (payload?.errors ?? []).map((e) => e.extensions?.code);

describe('subscriptions over WebSocket through the gateway', () => {
  it('each event is completed by the rest of the plan: a field from another subgraph, with the caller\'s identity', async () => {
    const me = user();
    const { client } = await connectAs(me);
    const channel = randomUUID();
    const sub = subscribe(client, TICK, { channel });
    await waitFor(() => events.subscribers(channel) === 1, 'the upstream subscription');
    const entityFetches = extras.requests.length;
    events.publish(channel, { id: 't1', name: 'one' });
    events.publish(channel, { id: 't2', name: 'two' });
    await waitFor(() => sub.received.length === 2, 'two events');
    expect(sub.received).toEqual([{ data: { tick: { id: 't1', name: 'one', extra: 'extra-t1' } } }, { data: { tick: { id: 't2', name: 'two', extra: 'extra-t2' } } }]);
    // The upstream stream carried the gateway's headers; each event's entity fetch went to extras as a query's would.
    const stream = events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!;
    expect(stream.headers['x-gateway-secret']).toBe(SECRET);
    expect(stream.headers.authorization).toMatch(/^Bearer /);
    expect(stream.headers['x-suoke-client-ip']).toBe('127.0.0.1');
    expect(stream.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const fetches = extras.requests.slice(entityFetches);
    expect(fetches).toHaveLength(2);
    expect(fetches[0]!.body).toMatchObject({ variables: { representations: [{ __typename: 'Thing', id: 't1' }] } });
    expect(fetches[0]!.headers.authorization).toBe(stream.headers.authorization);
    expect(fetches[0]!.headers['x-gateway-secret']).toBe(SECRET);
    expect(sub.ended()).toBe(false);
  });

  it('the token is read from authorization, Authorization or headers.authorization; none is anonymous', async () => {
    const token = await testToken(user());
    for (const params of [{ Authorization: `Bearer ${token}` }, { headers: { authorization: `Bearer ${token}` } }, {}]) {
      const { client } = connect(params);
      const channel = randomUUID();
      subscribe(client, TICK, { channel });
      await waitFor(() => events.subscribers(channel) === 1, `subscribed with ${JSON.stringify(Object.keys(params))}`);
      const stream = events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!;
      expect(stream.headers.authorization).toBe('authorization' in params || 'Authorization' in params || 'headers' in params ? `Bearer ${token}` : undefined);
    }
  });

  it('a bad token closes the connection at connection_init (4403, UNAUTHENTICATED), before any subscription', async () => {
    const expired = await testToken(user(), { ttlSeconds: -10 });
    for (const authorization of ['Bearer not-a-jwt', `Bearer ${expired}`, 'Basic abc']) {
      const { client, closed } = connect({ authorization });
      const sub = subscribe(client, TICK, { channel: randomUUID() });
      await waitFor(() => sub.ended(), 'the refusal');
      expect(closed[0]?.code).toBe(4403);
      expect(closed[0]?.reason).toMatch(/^UNAUTHENTICATED: /);
      expect(sub.received).toEqual([]);
    }
  });

  it('a client that disconnects closes the upstream subscription within a second; so does one that completes', async () => {
    const { client } = await connectAs(user());
    const channel = randomUUID();
    const first = subscribe(client, TICK, { channel });
    subscribe(client, TICK, { channel });
    await waitFor(() => events.subscribers(channel) === 2, 'two upstream subscriptions');
    first.unsubscribe();
    await waitFor(() => events.subscribers(channel) === 1, 'the completed one closed upstream', 1_000);
    await client.dispose();
    await waitFor(() => events.subscribers(channel) === 0 && events.openStreams() === 0, 'the disconnected one closed upstream', 1_000);
  });

  it('a client that disconnects while the upstream stream is still opening closes it too', async () => {
    events.acceptDelay.ms = 3_000;
    try {
      const { client } = await connectAs(user());
      const before = events.requests.length;
      subscribe(client, TICK, { channel: randomUUID() });
      await waitFor(() => events.requests.length > before && events.openStreams() === 1, 'the stream request to arrive');
      await client.dispose();
      await waitFor(() => events.openStreams() === 0, 'the opening stream closed', 1_000);
    } finally {
      events.acceptDelay.ms = 0;
    }
  });

  it('an upstream stream that is cut (subgraph restart) ends the subscription with SERVICE_UNAVAILABLE, never a hang', async () => {
    const { client } = await connectAs(user());
    const channel = randomUUID();
    const sub = subscribe(client, TICK, { channel });
    await waitFor(() => events.subscribers(channel) === 1, 'the upstream subscription');
    events.cutStreams();
    await waitFor(() => sub.state.completed, 'the subscription to end');
    expect(sub.received.map(codesOf)).toEqual([['SERVICE_UNAVAILABLE']]);
  });

  it('a stream the subgraph refuses (401) ends with UNAUTHENTICATED', async () => {
    const { client } = await connectAs({ id: REFUSED });
    const sub = subscribe(client, TICK, { channel: randomUUID() });
    await waitFor(() => sub.state.completed, 'the refusal');
    expect(sub.received.map(codesOf)).toEqual([['UNAUTHENTICATED']]);
  });

  it('the token\'s expiry ends the subscription with UNAUTHENTICATED, closes upstream, and refuses new ones', async () => {
    const { client } = await connectAs(user(), { ttlSeconds: 2 });
    const channel = randomUUID();
    const sub = subscribe(client, TICK, { channel });
    await waitFor(() => events.subscribers(channel) === 1, 'the upstream subscription');
    await waitFor(() => sub.state.completed, 'the expiry', 5_000);
    expect(sub.received.map(codesOf)).toEqual([['UNAUTHENTICATED']]);
    expect(sub.received[0]!.errors![0]!.message).toMatch(/expired/);
    await waitFor(() => events.subscribers(channel) === 0, 'upstream closed', 1_000);
    const late = subscribe(client, TICK, { channel });
    await waitFor(() => late.ended(), 'the refusal');
    expect((late.state.error as { extensions?: { code?: string } }[])[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('operation limits, validation and the operation type are checked at subscribe', async () => {
    const { client } = await connectAs(user());
    const deep = subscribe(client, `subscription { tick(channel: "x") { id ${Array.from({ length: 20 }, (_, i) => `a${i}: name`).join(' ')} } }`);
    const query = subscribe(client, '{ thing(id: "1") { id } }');
    const unknown = subscribe(client, 'subscription { nope }');
    const badVariable = subscribe(client, TICK, { channel: 5 });
    await waitFor(() => [deep, query, unknown, badVariable].every((s) => s.ended()), 'four refusals');
    const code = (s: ReturnType<typeof subscribe>) => (s.state.error as { extensions?: { code?: string } }[])[0]?.extensions?.code;
    expect([code(deep), code(query), code(unknown), code(badVariable)]).toEqual(['GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);
    expect(events.subscribers('x')).toBe(0);
  });

  it('@rateLimit of the root field applies at subscribe (RATE_LIMITED past the limit, nothing opened upstream)', async () => {
    const { client } = await connectAs(user());
    const subs = [1, 2, 3].map(() => subscribe(client, 'subscription { limited { id } }'));
    await waitFor(() => events.subscribers('limited') === 2 && subs.filter((s) => s.ended()).length === 1, 'two accepted, one refused');
    const refused = subs.find((s) => s.ended())!;
    expect((refused.state.error as { extensions?: { code?: string; retryAfter?: number } }[])[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.received).toEqual([]);
  });

  it('per-user and per-process caps on open subscriptions refuse with SUBSCRIPTION_LIMIT', async () => {
    const channel = randomUUID();
    const a = (await connectAs(user())).client;
    const held = [1, 2, 3].map(() => subscribe(a, TICK, { channel }));
    await waitFor(() => events.subscribers(channel) === 3, 'three open');
    const fourth = subscribe(a, TICK, { channel });
    await waitFor(() => fourth.ended(), 'the per-user refusal');
    expect((fourth.state.error as { extensions?: Record<string, unknown> }[])[0]?.extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', limit: 'caller' });
    // One completed makes room again.
    held[0]!.unsubscribe();
    const again = subscribe(a, TICK, { channel });
    await waitFor(() => events.subscribers(channel) === 3 && !again.ended(), 'room again');
    const b = (await connectAs(user())).client;
    [1, 2, 3].map(() => subscribe(b, TICK, { channel }));
    await waitFor(() => gateway.liveStats.subscriptions === 6, 'six open');
    const c = (await connectAs(user())).client;
    const over = subscribe(c, TICK, { channel });
    await waitFor(() => over.ended(), 'the per-process refusal');
    expect((over.state.error as { extensions?: Record<string, unknown> }[])[0]?.extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', limit: 'process' });
  });

  it('an upstream stream gone silent (no event, no heartbeat) ends with SERVICE_UNAVAILABLE after GATEWAY_SUBSCRIPTION_UPSTREAM_IDLE_MS', async () => {
    // A subgraph that accepts the stream, then freezes: no byte ever again, no FIN.
    const frozen = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(':\n\n');
    });
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    const frozenUrl = `http://127.0.0.1:${(frozen.address() as AddressInfo).port}/graphql`;
    const third = createGateway({
      config: loadGatewayConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', SUPERGRAPH_PATH: supergraphPath, GATEWAY_SUBSCRIPTION_UPSTREAM_IDLE_MS: '600' }),
      subgraphUrls: { events: frozenUrl, extras: extras.url },
    });
    try {
      const url = (await third.listen(0, '127.0.0.1')).url.replace(/^http/, 'ws');
      const { client } = connect({}, url);
      const sub = subscribe(client, TICK, { channel: randomUUID() });
      await waitFor(() => sub.state.completed, 'the silent stream to be given up');
      expect(sub.received.map(codesOf)).toEqual([['SERVICE_UNAVAILABLE']]);
    } finally {
      await third.stop();
      frozen.closeAllConnections();
      frozen.close();
    }
  });

  it('the gateway pings every connection (keepalive), so idle proxies keep the socket', async () => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    let pings = 0;
    socket.on('ping', () => (pings += 1));
    await waitFor(() => pings >= 2, 'two pings');
    socket.close();
  });

  it('a new supergraph keeps running subscriptions going, and ends those whose field vanished with a reason', async () => {
    const { client } = await connectAs(user());
    const channel = randomUUID();
    const tick = subscribe(client, TICK, { channel });
    const limited = subscribe(client, 'subscription { limited { id } }');
    await waitFor(() => events.subscribers(channel) === 1 && events.subscribers('limited') === 1, 'both open upstream');
    const original = readFileSync(supergraphPath, 'utf8');
    try {
      writeFileSync(supergraphPath, composeTestSupergraph([{ ...events, typeDefs: parse(eventsSdl({ limited: false })) }, extras]));
      await waitFor(() => limited.state.completed, "the vanished field's subscription to end");
      expect(limited.received.map(codesOf)).toEqual([['SERVICE_UNAVAILABLE']]);
      expect(limited.received[0]!.errors![0]!.message).toMatch(/no longer in the schema/);
      await waitFor(() => events.subscribers('limited') === 0, 'its upstream closed', 1_000);
      events.publish(channel, { id: 'after-reload', name: 'still here' });
      await waitFor(() => tick.received.length === 1, 'an event after the reload');
      expect(tick.received[0]).toEqual({ data: { tick: { id: 'after-reload', name: 'still here', extra: 'extra-after-reload' } } });
      expect(tick.ended()).toBe(false);
    } finally {
      writeFileSync(supergraphPath, original);
    }
    // Once the original is served again, `limited` is accepted once more.
    const other = (await connectAs(user())).client;
    const deadline = Date.now() + 5_000;
    for (;;) {
      const again = subscribe(other, 'subscription { limited { id } }');
      await waitFor(() => events.subscribers('limited') === 1 || again.ended(), 'an answer');
      if (!again.ended()) break;
      expect(Date.now(), 'limited served again within 5 s').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it('stopping the gateway completes every stream with a reason and closes upstream', async () => {
    const second = startGateway({ SHUTDOWN_GRACE_MS: '2000' });
    const url = (await second.listen(0, '127.0.0.1')).url.replace(/^http/, 'ws');
    const { client } = connect({ authorization: `Bearer ${await testToken(user())}` }, url);
    const channel = randomUUID();
    const subs = [subscribe(client, TICK, { channel }), subscribe(client, TICK, { channel })];
    await waitFor(() => events.subscribers(channel) === 2, 'two upstream subscriptions');
    await second.stop();
    await waitFor(() => subs.every((s) => s.state.completed), 'both completed');
    for (const sub of subs) expect(sub.received.map(codesOf)).toEqual([['SERVICE_UNAVAILABLE']]);
    await waitFor(() => events.subscribers(channel) === 0, 'upstream closed', 1_000);
  });
});

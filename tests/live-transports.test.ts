import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'graphql';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { testToken } from '@suoke/platform/testing';
import { createClient as createSseClient } from 'graphql-sse';
import { afterEach, describe, expect, it } from 'vitest';
import { composeTestSupergraph, eventsSdl } from './live-fixtures.js';
import { codesOf, MULTIPART_ACCEPT, postSubscription, SSE_ACCEPT, subscribe, TICK, useLiveStack, user, waitFor, type HttpStream } from './live-harness.js';

/**
 * Subscriptions over plain HTTP on the gateway's /graphql, as real clients
 * meet them: Apollo Client 4's HttpLink (multipart, no extra link), the
 * graphql-sse client (distinct connections), and raw fetches as curl sends
 * them; both on the same core as graphql-ws (caps shared, expiry, shutdown,
 * upstream closed when the client leaves). Heartbeats every 200 ms here.
 */
const live = useLiveStack({ GATEWAY_HTTP_SUBSCRIPTION_HEARTBEAT_MS: '200' });

const streams: HttpStream[] = [];
async function open(accept: string, variables: Record<string, unknown>, token?: string, url = live.httpUrl, query = TICK): Promise<HttpStream> {
  const stream = await postSubscription(url, { query, variables }, { accept, ...(token ? { token } : {}) });
  streams.push(stream);
  return stream;
}
// Registered after the stack's: runs before its check that every subscription was released.
afterEach(() => {
  for (const stream of streams.splice(0)) stream.abort();
});
const events = (stream: HttpStream) => stream.parts.filter((p) => p.payload !== undefined || p.event === 'next');

function apolloClient(token: string | undefined, url = live.httpUrl) {
  return new ApolloClient({ link: new HttpLink({ uri: url, headers: token ? { authorization: `Bearer ${token}` } : {} }), cache: new InMemoryCache() });
}

describe('multipart subscriptions (Apollo Client 4, HttpLink)', () => {
  it("Apollo Client's HttpLink receives each event, completed by the rest of the plan", async () => {
    const channel = randomUUID();
    const client = apolloClient(await testToken(user()));
    const received: unknown[] = [];
    const errors: unknown[] = [];
    const sub = client.subscribe({ query: gql(TICK), variables: { channel } }).subscribe({ next: (v) => received.push(v.data), error: (e) => errors.push(e) });
    try {
      await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
      live.events.publish(channel, { id: 'a1', name: 'one' });
      live.events.publish(channel, { id: 'a2', name: 'two' });
      await waitFor(() => received.length === 2, 'two events');
      expect(received).toEqual([
        { tick: { __typename: 'Thing', id: 'a1', name: 'one', extra: 'extra-a1' } },
        { tick: { __typename: 'Thing', id: 'a2', name: 'two', extra: 'extra-a2' } },
      ]);
      expect(errors).toEqual([]);
      const stream = live.events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!;
      expect(stream.headers.authorization).toMatch(/^Bearer /);
    } finally {
      sub.unsubscribe();
    }
    await waitFor(() => live.events.subscribers(channel) === 0, 'unsubscribe closed upstream', 1_000);
  });

  it('the response headers come at once, before any event; heartbeats `{}` keep it alive; parts are `{payload}`', async () => {
    const channel = randomUUID();
    const stream = await open(MULTIPART_ACCEPT, { channel }, await testToken(user()));
    // fetch resolved: the headers are in, and nothing has been published yet.
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('multipart/mixed;boundary="graphql";subscriptionSpec=1.0');
    await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
    expect(events(stream)).toEqual([]);
    await waitFor(() => stream.parts.filter((p) => Object.keys(p).length === 0).length >= 2, 'two heartbeat parts');
    live.events.publish(channel, { id: 'm1', name: 'one' });
    await waitFor(() => events(stream).length === 1, 'the event part');
    expect(events(stream)).toEqual([{ payload: { data: { tick: { id: 'm1', name: 'one', extra: 'extra-m1' } } } }]);
    expect(stream.raw().startsWith('\r\n--graphql\r\ncontent-type: application/json')).toBe(true);
    stream.abort();
    await waitFor(() => live.events.subscribers(channel) === 0, 'the upstream closed', 1_000);
  });
});

describe('SSE subscriptions (graphql-sse, distinct connections)', () => {
  it("graphql-sse's createClient receives events with the bearer token of its headers", async () => {
    const token = await testToken(user());
    const client = createSseClient({ url: live.httpUrl, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    const channel = randomUUID();
    const received: unknown[] = [];
    const state = { completed: false, error: undefined as unknown };
    const dispose = client.subscribe({ query: TICK, variables: { channel } }, { next: (v) => received.push(v), error: (e) => (state.error = e), complete: () => (state.completed = true) });
    try {
      await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
      expect(live.events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!.headers.authorization).toBe(`Bearer ${token}`);
      live.events.publish(channel, { id: 's1', name: 'one' });
      await waitFor(() => received.length === 1, 'the event');
      expect(received).toEqual([{ data: { tick: { id: 's1', name: 'one', extra: 'extra-s1' } } }]);
      expect(state.error).toBeUndefined();
    } finally {
      dispose();
      client.dispose();
    }
    await waitFor(() => live.events.subscribers(channel) === 0, 'dispose closed upstream', 1_000);
  });

  it('a raw POST (curl -N -H "accept: text/event-stream") gets `event: next` messages and heartbeat comments', async () => {
    const channel = randomUUID();
    const stream = await open(SSE_ACCEPT, { channel }, await testToken(user()));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
    await waitFor(() => stream.parts.filter((p) => p.comment).length >= 3, 'heartbeat comments');
    live.events.publish(channel, { id: 'r1', name: 'raw' });
    await waitFor(() => events(stream).length === 1, 'the event');
    expect(events(stream)).toEqual([{ event: 'next', data: { data: { tick: { id: 'r1', name: 'raw', extra: 'extra-r1' } } } }]);
    expect(stream.raw()).toContain('event: next\ndata: {"data":{"tick"');
  });
});

describe('one core for every transport', () => {
  it('per-user and per-process caps count subscriptions over WebSocket, multipart and SSE together', async () => {
    const me = user();
    const token = await testToken(me);
    const channel = randomUUID();
    const ws = subscribe((await live.connectAs(me)).client, TICK, { channel });
    await open(MULTIPART_ACCEPT, { channel }, token);
    await open(SSE_ACCEPT, { channel }, token);
    await waitFor(() => live.events.subscribers(channel) === 3, 'three open, one per transport');
    for (const accept of [SSE_ACCEPT, MULTIPART_ACCEPT]) {
      const fourth = await open(accept, { channel }, token);
      expect(fourth.status).toBe(429);
      expect(fourth.json.errors[0].extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', limit: 'caller' });
    }
    const other = await testToken(user());
    await open(SSE_ACCEPT, { channel }, other);
    await open(MULTIPART_ACCEPT, { channel }, other);
    subscribe((await live.connectAs(user())).client, TICK, { channel });
    await waitFor(() => live.gateway.liveStats.subscriptions === 6, 'six open');
    const over = await open(SSE_ACCEPT, { channel }, await testToken(user()));
    expect(over.status).toBe(429);
    expect(over.json.errors[0].extensions).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', limit: 'process' });
    expect(ws.ended()).toBe(false);
  });

  for (const [name, accept] of [['multipart', MULTIPART_ACCEPT], ['SSE', SSE_ACCEPT]] as const) {
    it(`${name}: a client that disconnects closes the subgraph-side stream within a second, even while it opens`, async () => {
      const channel = randomUUID();
      const stream = await open(accept, { channel }, await testToken(user()));
      await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
      stream.abort();
      await waitFor(() => live.events.subscribers(channel) === 0 && live.events.openStreams() === 0, 'upstream closed', 1_000);

      live.events.acceptDelay.ms = 3_000;
      try {
        const before = live.events.requests.length;
        const controller = new AbortController();
        const pending = fetch(live.httpUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${await testToken(user())}` },
          body: JSON.stringify({ query: TICK, variables: { channel: randomUUID() } }),
          signal: controller.signal,
        }).catch(() => undefined);
        await waitFor(() => live.events.requests.length > before && live.events.openStreams() === 1, 'the stream request to arrive');
        controller.abort();
        await pending;
        await waitFor(() => live.events.openStreams() === 0, 'the opening stream closed', 1_000);
      } finally {
        live.events.acceptDelay.ms = 0;
      }
    });

    it(`${name}: the token's expiry ends the stream with UNAUTHENTICATED and closes upstream`, async () => {
      const channel = randomUUID();
      const stream = await open(accept, { channel }, await testToken(user(), { ttlSeconds: 2 }));
      await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
      await waitFor(() => stream.ended(), 'the expiry', 5_000);
      if (name === 'multipart') {
        expect(events(stream)).toEqual([{ payload: null, errors: [{ message: expect.stringMatching(/expired/), extensions: { code: 'UNAUTHENTICATED' } }] }]);
        expect(stream.raw().endsWith('\r\n--graphql--\r\n')).toBe(true);
      } else {
        expect(events(stream).map((m) => codesOf(m.data))).toEqual([['UNAUTHENTICATED']]);
        expect(stream.parts.at(-1)).toEqual({ event: 'complete', data: null });
      }
      await waitFor(() => live.events.subscribers(channel) === 0, 'upstream closed', 1_000);
    });

    it(`${name}: a cut upstream (subgraph restart) ends the stream with SERVICE_UNAVAILABLE, never a hang`, async () => {
      const channel = randomUUID();
      const stream = await open(accept, { channel }, await testToken(user()));
      await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
      live.events.cutStreams();
      await waitFor(() => stream.ended(), 'the end');
      const last = events(stream).at(-1);
      expect(name === 'multipart' ? last.errors[0].extensions.code : codesOf(last.data)[0]).toBe('SERVICE_UNAVAILABLE');
    });
  }

  it('SSE: a session signed out mid-stream ends it at the next event with UNAUTHENTICATED, that event unsent', async () => {
    const sessionId = randomUUID();
    const channel = randomUUID();
    const stream = await open(SSE_ACCEPT, { channel }, await testToken({ ...user(), sessionId }));
    await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
    live.gateway.sessions.add(sessionId, Date.now() + 60_000);
    live.events.publish(channel, { id: 'after-logout' });
    await waitFor(() => stream.ended(), 'the end');
    expect(events(stream).map((m) => codesOf(m.data))).toEqual([['UNAUTHENTICATED']]);
    expect(stream.raw()).not.toContain('after-logout');
    await waitFor(() => live.events.subscribers(channel) === 0, 'upstream closed', 1_000);
  });

  it('multipart: a hot reload keeps a subscription whose field remains, and ends one whose field vanished with a reason', async () => {
    const token = await testToken(user());
    const channel = randomUUID();
    const tick = await open(MULTIPART_ACCEPT, { channel }, token);
    const limited = await open(MULTIPART_ACCEPT, {}, token, live.httpUrl, 'subscription { limited { id } }');
    await waitFor(() => live.events.subscribers(channel) === 1 && live.events.subscribers('limited') === 1, 'both open upstream');
    const original = readFileSync(live.supergraphPath, 'utf8');
    try {
      writeFileSync(live.supergraphPath, composeTestSupergraph([{ ...live.events, typeDefs: parse(eventsSdl({ limited: false })) }, live.extras]));
      await waitFor(() => limited.ended(), "the vanished field's subscription to end");
      expect(events(limited)).toEqual([{ payload: null, errors: [{ message: expect.stringMatching(/no longer in the schema/), extensions: { code: 'SERVICE_UNAVAILABLE' } }] }]);
      await waitFor(() => live.events.subscribers('limited') === 0, 'its upstream closed', 1_000);
      live.events.publish(channel, { id: 'after-reload', name: 'still here' });
      await waitFor(() => events(tick).length === 1, 'an event after the reload');
      expect(events(tick)).toEqual([{ payload: { data: { tick: { id: 'after-reload', name: 'still here', extra: 'extra-after-reload' } } } }]);
      expect(tick.ended()).toBe(false);
    } finally {
      writeFileSync(live.supergraphPath, original);
    }
    // Back to the original before the next test: `limited` is served again.
    const deadline = Date.now() + 5_000;
    for (;;) {
      const again = await open(MULTIPART_ACCEPT, {}, await testToken(user()), live.httpUrl, 'subscription { limited { id } }');
      if (again.status === 200) break;
      expect(Date.now(), 'limited served again within 5 s').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it("a stream outlives the HTTP front's request timeout (it bounds receiving the request, not the answer)", async () => {
    const short = live.startGateway({ HTTP_REQUEST_TIMEOUT_MS: '600', HTTP_HEADERS_TIMEOUT_MS: '500' });
    try {
      const url = (await short.listen(0, '127.0.0.1')).url;
      const channel = randomUUID();
      const stream = await open(SSE_ACCEPT, { channel }, await testToken(user()), url);
      await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      live.events.publish(channel, { id: 'late', name: 'late' });
      await waitFor(() => events(stream).length === 1, 'an event after the timeout');
      expect(stream.ended()).toBe(false);
      stream.abort();
      await waitFor(() => live.events.subscribers(channel) === 0, 'closed upstream', 1_000);
    } finally {
      await short.stop();
    }
  });

  it('stopping the gateway (SIGTERM) ends multipart, SSE and WebSocket streams with a reason and closes upstream', async () => {
    const second = live.startGateway({ SHUTDOWN_GRACE_MS: '2000' });
    const url = (await second.listen(0, '127.0.0.1')).url;
    const token = await testToken(user());
    const channel = randomUUID();
    const multipart = await open(MULTIPART_ACCEPT, { channel }, token, url);
    const sse = await open(SSE_ACCEPT, { channel }, token, url);
    const apollo: unknown[] = [];
    const apolloSub = apolloClient(token, url)
      .subscribe({ query: gql(TICK), variables: { channel } })
      .subscribe({ next: (v) => apollo.push(v), error: (e) => apollo.push(e) });
    await waitFor(() => live.events.subscribers(channel) === 3, 'three upstream subscriptions');
    await second.stop();
    await waitFor(() => multipart.ended() && sse.ended() && apollo.length > 0, 'all ended');
    expect(events(multipart).at(-1)).toMatchObject({ payload: null, errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] });
    expect(events(sse).map((m) => codesOf(m.data))).toEqual([['SERVICE_UNAVAILABLE']]);
    expect(sse.parts.at(-1)).toEqual({ event: 'complete', data: null });
    // Apollo Client reads the transport error part as an error carrying the code.
    expect(JSON.stringify(apollo[0])).toContain('SERVICE_UNAVAILABLE');
    apolloSub.unsubscribe();
    await waitFor(() => live.events.subscribers(channel) === 0, 'upstream closed', 1_000);
  });
});

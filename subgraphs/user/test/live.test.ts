import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gatewayHeaders, subscribeOverSse, TEST_GATEWAY_SECRET, testServiceToken, testToken } from '@suoke/platform/testing';
import { createUserSubgraph, definition } from '../src/server.js';
import { LOGOUT, REGISTER, startUserSubgraph, type UserHarness } from './harness.js';

// `notificationAdded` over the subgraph's graphql-sse endpoint (POST /graphql/stream),
// as the gateway will call it: delivery after the commit, nobody else's inbox,
// refusals before and at subscribe time, the token's expiry, heartbeats,
// disconnects releasing the bus, the process cap, shutdown, and (Redis) another replica.

let users: UserHarness;
let service: string;
let closed = false;
const MAX_STREAMS = 6;

beforeAll(async () => {
  // On Redis when the run has one (the bus under test), in-process otherwise.
  users = await startUserSubgraph({
    SUBSCRIPTION_HEARTBEAT_MS: '150',
    SUBSCRIPTIONS_MAX_PER_PROCESS: String(MAX_STREAMS),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  });
  service = await testServiceToken('diagnosis', ['reports:explain', 'notifications:write']);
});
afterAll(async () => {
  if (!closed) await users?.close();
});

const ADDED = 'subscription { notificationAdded { id kind title body reportId createdAt readAt } }';
const POST = 'mutation ($input: PostNotificationInput!) { postNotification(input: $input) { id createdAt } }';
const streamUrl = () => users.url.replace(/\/graphql$/, '/graphql/stream');

async function register(): Promise<{ id: string; token: string; refreshToken: string }> {
  const result = await users.gql<any>(REGISTER, { input: { email: `live-${randomUUID()}@example.com`, password: 'live-password-2026', displayName: '韩梅梅' } });
  expect(result.errors).toBeUndefined();
  return { id: result.data.register.user.id, token: result.data.register.accessToken, refreshToken: result.data.register.refreshToken };
}

const notice = (userId: string) => ({ key: `report:${randomUUID()}:1:notify`, userId, kind: 'REPORT_READY', title: '报告已生成', body: '小艾已经解读了结果。', reportId: randomUUID() });

/** Waits, bounded by tries, until the bus has `count` listeners on the user's topic. */
async function listeners(userId: string, count: number, bus = users.subgraph.events): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (bus.listenerCount(`user:notifications:${userId}`) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} listeners, have ${bus.listenerCount(`user:notifications:${userId}`)}`);
}

async function rawStream(body: unknown, headers: Record<string, string>) {
  return fetch(streamUrl(), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers }, body: JSON.stringify(body) });
}

describe('notificationAdded', () => {
  it("delivers each notification posted for the caller, once, and never another user's", async () => {
    const [alice, bob] = [await register(), await register()];
    const aliceStream = subscribeOverSse<any>(users.url, ADDED, {}, { caller: alice.token });
    const bobStream = subscribeOverSse<any>(users.url, ADDED, {}, { caller: bob.token });
    await Promise.all([listeners(alice.id, 1), listeners(bob.id, 1)]);

    const forAlice = notice(alice.id);
    const posted = await users.gql<any>(POST, { input: forAlice }, service);
    expect(posted.errors).toBeUndefined();
    // The same key again is the same notification: it is not announced twice.
    await users.gql<any>(POST, { input: forAlice }, service);
    const forBob = notice(bob.id);
    await users.gql<any>(POST, { input: forBob }, service);

    const first = await aliceStream.next();
    expect(first?.errors).toBeUndefined();
    expect(first?.data?.notificationAdded).toEqual({
      id: posted.data.postNotification.id,
      kind: 'REPORT_READY',
      title: forAlice.title,
      body: forAlice.body,
      reportId: forAlice.reportId,
      createdAt: posted.data.postNotification.createdAt,
      readAt: null,
    });
    // Bob's first event is his own notification, not Alice's.
    expect((await bobStream.next())?.data?.notificationAdded.reportId).toBe(forBob.reportId);
    const second = notice(alice.id);
    await users.gql<any>(POST, { input: second }, service);
    expect((await aliceStream.next())?.data?.notificationAdded.reportId).toBe(second.reportId);
    aliceStream.dispose();
    bobStream.dispose();
    await Promise.all([listeners(alice.id, 0), listeners(bob.id, 0)]);
  });

  it('single connection mode (how the gateway multiplexes): one event stream, each operation authenticated by its own POST, stopped by DELETE or with the stream', async () => {
    const [alice, bob] = [await register(), await register()];
    const secret = gatewayHeaders('127.0.0.1');
    const reserved = await fetch(streamUrl(), { method: 'PUT', headers: secret });
    expect(reserved.status).toBe(201);
    const token = await reserved.text();
    // Without the gateway's secret nothing is reserved, opened or started.
    expect((await fetch(streamUrl(), { method: 'PUT' })).status).toBe(403);
    const abort = new AbortController();
    const stream = await fetch(streamUrl(), { headers: { ...secret, accept: 'text/event-stream', 'x-graphql-event-stream-token': token }, signal: abort.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = '';
    const nextEvent = async (): Promise<{ event: string; data: any }> => {
      for (;;) {
        const end = buffered.indexOf('\n\n');
        if (end !== -1) {
          const message = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const event = /^event: (.*)$/m.exec(message)?.[1];
          const data = /^data: (.*)$/m.exec(message)?.[1];
          if (event) return { event, data: data ? JSON.parse(data) : null };
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('the event stream ended');
        buffered += value;
      }
    };
    const start = (operationId: string, authorization: string) =>
      fetch(streamUrl(), {
        method: 'POST',
        headers: { ...secret, authorization: `Bearer ${authorization}`, 'content-type': 'application/json', accept: 'application/json', 'x-graphql-event-stream-token': token },
        body: JSON.stringify({ query: ADDED, extensions: { operationId } }),
      });
    expect((await start('a', alice.token)).status).toBe(202);
    expect((await start('b', bob.token)).status).toBe(202);
    // A bad token is refused on its own POST; the others on the stream go on.
    expect((await start('x', 'not-a-token')).status).toBe(401);
    await Promise.all([listeners(alice.id, 1), listeners(bob.id, 1)]);
    const forBob = notice(bob.id);
    await users.gql<any>(POST, { input: forBob }, service);
    const forAlice = notice(alice.id);
    await users.gql<any>(POST, { input: forAlice }, service);
    const first = await nextEvent();
    expect(first).toMatchObject({ event: 'next', data: { id: 'b', payload: { data: { notificationAdded: { reportId: forBob.reportId } } } } });
    expect(await nextEvent()).toMatchObject({ event: 'next', data: { id: 'a', payload: { data: { notificationAdded: { reportId: forAlice.reportId } } } } });
    const stopped = await fetch(`${streamUrl()}?operationId=b`, { method: 'DELETE', headers: { ...secret, 'x-graphql-event-stream-token': token } });
    expect(stopped.status).toBe(200);
    await listeners(bob.id, 0);
    expect(users.subgraph.events.listenerCount(`user:notifications:${alice.id}`)).toBe(1);
    // Closing the event stream stops what is left on it.
    abort.abort();
    await listeners(alice.id, 0);
  });

  it('releases the bus subscription within a second of the client disconnecting', async () => {
    const carol = await register();
    const baseline = users.subgraph.openStreams();
    const stream = subscribeOverSse<any>(users.url, ADDED, {}, { caller: carol.token });
    await listeners(carol.id, 1);
    // The bus listener is attached (eagerly) before the stream is counted as open: wait for both.
    await vi.waitFor(() => expect(users.subgraph.openStreams()).toBe(baseline + 1), { timeout: 5_000, interval: 10 });
    const left = Date.now();
    stream.dispose();
    await listeners(carol.id, 0);
    expect(Date.now() - left).toBeLessThan(1_000);
    await vi.waitFor(() => expect(users.subgraph.openStreams()).toBe(baseline), { timeout: 1_000, interval: 10 });
  });

  it('refuses before the stream opens: no gateway secret 403, a bad token 401, a signed-out session 401, no event-stream 406', async () => {
    const dave = await register();
    const query = { query: ADDED };
    const noSecret = await rawStream(query, { authorization: `Bearer ${dave.token}` });
    expect(noSecret.status).toBe(403);
    expect((await noSecret.json()).errors[0].extensions.code).toBe('FORBIDDEN');
    const wrongSecret = await rawStream(query, { 'x-gateway-secret': `${TEST_GATEWAY_SECRET}x`, authorization: `Bearer ${dave.token}` });
    expect(wrongSecret.status).toBe(403);
    const forged = await rawStream(query, { ...gatewayHeaders(), authorization: `Bearer ${await testToken({ id: dave.id }, { ttlSeconds: -60 })}` });
    expect(forged.status).toBe(401);
    expect((await forged.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const notSse = await fetch(streamUrl(), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...gatewayHeaders() }, body: JSON.stringify(query) });
    expect(notSse.status).toBe(406);
    const loggedOut = await users.gql<any>(LOGOUT, { token: dave.refreshToken }, dave.token);
    expect(loggedOut.errors).toBeUndefined();
    const afterLogout = await rawStream(query, { ...gatewayHeaders(), authorization: `Bearer ${dave.token}` });
    expect(afterLogout.status).toBe(401);
    expect(users.subgraph.events.listenerCount(`user:notifications:${dave.id}`)).toBe(0);
  });

  it('answers refusals at subscribe time as one next with the code, then complete', async () => {
    const erin = await register();
    const expectRefusal = async (stream: ReturnType<typeof subscribeOverSse<any>>, code: string) => {
      const result = await stream.next();
      expect(result?.errors?.map((e) => e.extensions?.code)).toEqual([code]);
      expect(await stream.next()).toBeUndefined();
      expect((await stream.ended).error).toBeUndefined();
    };
    await expectRefusal(subscribeOverSse(users.url, ADDED), 'UNAUTHENTICATED');
    // A service's token holds no user's inbox.
    await expectRefusal(subscribeOverSse(users.url, ADDED, {}, { caller: service }), 'FORBIDDEN');
    await expectRefusal(subscribeOverSse(users.url, '{ me { id } }', {}, { caller: erin.token }), 'BAD_REQUEST');
    await expectRefusal(subscribeOverSse(users.url, 'mutation { logout(refreshToken: "x") }', {}, { caller: erin.token }), 'BAD_REQUEST');
    await expectRefusal(subscribeOverSse(users.url, 'subscription { notificationAdded { nope } }', {}, { caller: erin.token }), 'GRAPHQL_VALIDATION_FAILED');
    await expectRefusal(subscribeOverSse(users.url, 'subscription {', {}, { caller: erin.token }), 'GRAPHQL_PARSE_FAILED');
    expect(users.subgraph.events.listenerCount()).toBe(0);
  });

  it("ends the stream with UNAUTHENTICATED at the token's expiry, and releases it", async () => {
    const frank = await register();
    const shortLived = await testToken({ id: frank.id }, { ttlSeconds: 2 });
    const stream = subscribeOverSse<any>(users.url, ADDED, {}, { caller: shortLived });
    await listeners(frank.id, 1);
    const result = await stream.next(15_000);
    expect(result?.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(await stream.next()).toBeUndefined();
    await listeners(frank.id, 0);
  });

  it('sends heartbeats (SSE comments) on a quiet stream, uncompressed whatever the client accepts', async () => {
    const grace = await register();
    const response = await rawStream({ query: ADDED }, { ...gatewayHeaders(), authorization: `Bearer ${grace.token}`, 'accept-encoding': 'gzip, br' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(['gzip', 'br', 'deflate']).not.toContain(response.headers.get('content-encoding'));
    const reader = response.body!.getReader();
    let text = '';
    while ((text.match(/^:\n\n/gm) ?? []).length < 3) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      text += new TextDecoder().decode(value);
    }
    expect(text).not.toContain('event: next');
    await reader.cancel();
    await listeners(grace.id, 0);
  });

  it(`refuses the stream past SUBSCRIPTIONS_MAX_PER_PROCESS (${MAX_STREAMS}) with TOO_MANY_SUBSCRIPTIONS`, async () => {
    const heidi = await register();
    const held = Array.from({ length: MAX_STREAMS - users.subgraph.openStreams() }, () => subscribeOverSse<any>(users.url, ADDED, {}, { caller: heidi.token }));
    await listeners(heidi.id, held.length);
    expect(users.subgraph.openStreams()).toBe(MAX_STREAMS);
    const refused = subscribeOverSse<any>(users.url, ADDED, {}, { caller: heidi.token });
    expect((await refused.next())?.errors?.map((e) => e.extensions?.code)).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
    for (const stream of held) stream.dispose();
    await listeners(heidi.id, 0);
  });
});

describe.runIf(process.env.REDIS_URL)('notificationAdded across replicas (Redis)', () => {
  it('delivers a notification posted on one replica to a subscriber held by another', async () => {
    expect(users.subgraph.events.kind).toBe('redis');
    const config = definition.loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', GATEWAY_SECRET: TEST_GATEWAY_SECRET, REDIS_URL: process.env.REDIS_URL });
    const replica = createUserSubgraph({ config, database: users.database });
    const { url } = await replica.listen(0, '127.0.0.1');
    try {
      const ivan = await register();
      const stream = subscribeOverSse<any>(url, ADDED, {}, { caller: ivan.token });
      await listeners(ivan.id, 1, replica.events);
      expect(users.subgraph.events.listenerCount(`user:notifications:${ivan.id}`)).toBe(0);
      const input = notice(ivan.id);
      expect((await users.gql<any>(POST, { input }, service)).errors).toBeUndefined();
      expect((await stream.next())?.data?.notificationAdded.reportId).toBe(input.reportId);
      stream.dispose();
    } finally {
      await replica.stop();
    }
  });
});

describe('shutdown', () => {
  it('ends every open stream with SERVICE_UNAVAILABLE, then complete', async () => {
    const judy = await register();
    const streams = [subscribeOverSse<any>(users.url, ADDED, {}, { caller: judy.token }), subscribeOverSse<any>(users.url, ADDED, {}, { caller: judy.token })];
    await listeners(judy.id, 2);
    closed = true;
    const stopping = users.close();
    for (const stream of streams) {
      expect((await stream.next())?.errors?.map((e) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(await stream.next()).toBeUndefined();
    }
    await stopping;
  });
});

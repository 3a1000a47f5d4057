import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { composeTestSupergraph, eventsSdl } from './live-fixtures.js';
import { UPSTREAM_CONNECTIONS } from '../gateway/src/live/upstream.js';
import { codesOf, REFUSED, refusalOf, SECRET, subscribe, TICK, useLiveStack, user, waitFor } from './live-harness.js';

/**
 * Subscriptions through the gateway over GraphQL over WebSocket, against two
 * subgraphs made for it (live-fixtures.ts): real sockets, the graphql-ws
 * client, a real graphql-sse stream to the owning subgraph, and the rest of
 * each event's plan fetched from the other subgraph through the gateway's
 * data sources; then how a subscription ends, every way it can.
 */
const live = useLiveStack();

describe('subscriptions over WebSocket through the gateway', () => {
  it('each event is completed by the rest of the plan: a field from another subgraph, with the caller\'s identity', async () => {
    const me = user();
    const { client } = await live.connectAs(me);
    const channel = randomUUID();
    const sub = subscribe(client, TICK, { channel });
    await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
    const entityFetches = live.extras.requests.length;
    live.events.publish(channel, { id: 't1', name: 'one' });
    live.events.publish(channel, { id: 't2', name: 'two' });
    await waitFor(() => sub.received.length === 2, 'two events');
    expect(sub.received).toEqual([{ data: { tick: { id: 't1', name: 'one', extra: 'extra-t1' } } }, { data: { tick: { id: 't2', name: 'two', extra: 'extra-t2' } } }]);
    // The upstream stream carried the gateway's headers; each event's entity fetch went to extras as a query's would.
    const stream = live.events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!;
    expect(stream.headers['x-gateway-secret']).toBe(SECRET);
    expect(stream.headers.authorization).toMatch(/^Bearer /);
    expect(stream.headers['x-suoke-client-ip']).toBe('127.0.0.1');
    expect(stream.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const fetches = live.extras.requests.slice(entityFetches);
    expect(fetches).toHaveLength(2);
    expect(fetches[0]!.body).toMatchObject({ variables: { representations: [{ __typename: 'Thing', id: 't1' }] } });
    expect(fetches[0]!.headers.authorization).toBe(stream.headers.authorization);
    expect(fetches[0]!.headers['x-gateway-secret']).toBe(SECRET);
    expect(sub.ended()).toBe(false);
  });

  it('subscriptions of different users to one subgraph instance share one upstream connection, each with its own identity and only its own events', async () => {
    // A gateway of its own: this stack's caps allow 6 subscriptions.
    const gateway = live.startGateway({ GATEWAY_SUBSCRIPTIONS_MAX: '100' });
    const wsUrl = (await gateway.listen(0, '127.0.0.1')).url.replace(/^http/, 'ws');
    try {
      const users = Array.from({ length: 12 }, () => user());
      const channels = users.map(() => randomUUID());
      const before = live.events.requests.length;
      // Counted from here: the stack's own gateway keeps idle connections of earlier tests, and opens none meanwhile.
      const accepted = live.events.connections().accepted;
      const subs = [];
      for (const [i, who] of users.entries()) {
        const { client } = await live.connectAs(who, {}, wsUrl);
        subs.push(subscribe(client, TICK, { channel: channels[i]! }));
      }
      await waitFor(() => channels.every((channel) => live.events.subscribers(channel) === 1), 'every upstream subscription');
      // One event stream carries them all (graphql-sse single connection mode: one PUT, one GET); each operation's POST carried its own caller's token.
      const requests = live.events.requests.slice(before);
      expect(requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
      expect(requests.filter((r) => r.method === 'GET')).toHaveLength(1);
      const posts = requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(users.length);
      const subjectOf = (authorization: unknown) => JSON.parse(Buffer.from(String(authorization).split('.')[1]!, 'base64url').toString('utf8')).sub;
      expect(new Set(posts.map((r) => subjectOf(r.headers.authorization)))).toEqual(new Set(users.map((u) => u.id)));
      for (const post of posts) expect(post.headers['x-gateway-secret']).toBe(SECRET);
      expect(live.events.openStreams()).toBe(1);
      expect(live.events.connections().accepted - accepted).toBeLessThanOrEqual(UPSTREAM_CONNECTIONS);
      expect(UPSTREAM_CONNECTIONS).toBeLessThan(users.length);
      channels.forEach((channel, i) => live.events.publish(channel, { id: `t${i}`, name: `for ${i}` }));
      await waitFor(() => subs.every((sub) => sub.received.length === 1), 'one event each');
      await new Promise((resolve) => setTimeout(resolve, 200));
      subs.forEach((sub, i) => expect(sub.received).toEqual([{ data: { tick: { id: `t${i}`, name: `for ${i}`, extra: `extra-t${i}` } } }]));
      // The last one gone closes the shared stream; until then it stays for the others.
      for (const sub of subs.slice(1)) sub.unsubscribe();
      await waitFor(() => channels.slice(1).every((channel) => live.events.subscribers(channel) === 0), 'the others stopped upstream', 1_000);
      expect(live.events.subscribers(channels[0]!)).toBe(1);
      expect(live.events.openStreams()).toBe(1);
      subs[0]!.unsubscribe();
      await waitFor(() => live.events.subscribers(channels[0]!) === 0 && live.events.openStreams() === 0, 'the shared stream closed with its last subscription', 1_000);
    } finally {
      await gateway.stop();
    }
  });

  it('a client that disconnects closes the upstream subscription within a second; so does one that completes', async () => {
    const { client } = await live.connectAs(user());
    const channel = randomUUID();
    const first = subscribe(client, TICK, { channel });
    subscribe(client, TICK, { channel });
    await waitFor(() => live.events.subscribers(channel) === 2, 'two upstream subscriptions');
    first.unsubscribe();
    await waitFor(() => live.events.subscribers(channel) === 1, 'the completed one closed upstream', 1_000);
    await client.dispose();
    await waitFor(() => live.events.subscribers(channel) === 0 && live.events.openStreams() === 0, 'the disconnected one closed upstream', 1_000);
  });

  it('a client that disconnects while the upstream stream is still opening closes it too', async () => {
    live.events.acceptDelay.ms = 3_000;
    try {
      const { client } = await live.connectAs(user());
      const before = live.events.requests.length;
      subscribe(client, TICK, { channel: randomUUID() });
      await waitFor(() => live.events.requests.length > before && live.events.openStreams() === 1, 'the stream request to arrive');
      await client.dispose();
      await waitFor(() => live.events.openStreams() === 0, 'the opening stream closed', 1_000);
    } finally {
      live.events.acceptDelay.ms = 0;
    }
  });

  it('an upstream stream that is cut (subgraph restart) ends the subscription with SERVICE_UNAVAILABLE, never a hang', async () => {
    const { client } = await live.connectAs(user());
    const channel = randomUUID();
    const sub = subscribe(client, TICK, { channel });
    await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
    live.events.cutStreams();
    await waitFor(() => sub.state.completed, 'the subscription to end');
    expect(sub.received.map(codesOf)).toEqual([['SERVICE_UNAVAILABLE']]);
  });

  it('a stream the subgraph refuses (401) ends with UNAUTHENTICATED', async () => {
    const { client } = await live.connectAs({ id: REFUSED });
    const sub = subscribe(client, TICK, { channel: randomUUID() });
    await waitFor(() => sub.state.completed, 'the refusal');
    expect(sub.received.map(codesOf)).toEqual([['UNAUTHENTICATED']]);
  });

  it('the token\'s expiry ends the subscription with UNAUTHENTICATED, closes upstream, and refuses new ones', async () => {
    const { client } = await live.connectAs(user(), { ttlSeconds: 2 });
    const channel = randomUUID();
    const sub = subscribe(client, TICK, { channel });
    await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
    await waitFor(() => sub.state.completed, 'the expiry', 5_000);
    expect(sub.received.map(codesOf)).toEqual([['UNAUTHENTICATED']]);
    expect(sub.received[0]!.errors![0]!.message).toMatch(/expired/);
    await waitFor(() => live.events.subscribers(channel) === 0, 'upstream closed', 1_000);
    const late = subscribe(client, TICK, { channel });
    await waitFor(() => late.ended(), 'the refusal');
    expect(refusalOf(late.state.error)?.code).toBe('UNAUTHENTICATED');
  });

  it('an upstream stream gone silent (no event, no heartbeat) ends with SERVICE_UNAVAILABLE after GATEWAY_SUBSCRIPTION_UPSTREAM_IDLE_MS', async () => {
    // A subgraph that accepts the stream, then freezes: no byte ever again, no FIN.
    const frozen = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(':\n\n');
    });
    await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
    const frozenUrl = `http://127.0.0.1:${(frozen.address() as AddressInfo).port}/graphql`;
    const third = live.startGateway({ GATEWAY_SUBSCRIPTION_UPSTREAM_IDLE_MS: '600' }, { events: frozenUrl, extras: live.extras.url });
    try {
      const url = (await third.listen(0, '127.0.0.1')).url.replace(/^http/, 'ws');
      const { client } = live.connect({}, url);
      const sub = subscribe(client, TICK, { channel: randomUUID() });
      await waitFor(() => sub.state.completed, 'the silent stream to be given up');
      expect(sub.received.map(codesOf)).toEqual([['SERVICE_UNAVAILABLE']]);
    } finally {
      await third.stop();
      frozen.closeAllConnections();
      frozen.close();
    }
  });

  it('a new supergraph keeps running subscriptions going, and ends those whose field vanished with a reason', async () => {
    const { client } = await live.connectAs(user());
    const channel = randomUUID();
    const tick = subscribe(client, TICK, { channel });
    const limited = subscribe(client, 'subscription { limited { id } }');
    await waitFor(() => live.events.subscribers(channel) === 1 && live.events.subscribers('limited') === 1, 'both open upstream');
    const original = readFileSync(live.supergraphPath, 'utf8');
    try {
      writeFileSync(live.supergraphPath, composeTestSupergraph([{ ...live.events, typeDefs: parse(eventsSdl({ limited: false })) }, live.extras]));
      await waitFor(() => limited.state.completed, "the vanished field's subscription to end");
      expect(limited.received.map(codesOf)).toEqual([['SERVICE_UNAVAILABLE']]);
      expect(limited.received[0]!.errors![0]!.message).toMatch(/no longer in the schema/);
      await waitFor(() => live.events.subscribers('limited') === 0, 'its upstream closed', 1_000);
      live.events.publish(channel, { id: 'after-reload', name: 'still here' });
      await waitFor(() => tick.received.length === 1, 'an event after the reload');
      expect(tick.received[0]).toEqual({ data: { tick: { id: 'after-reload', name: 'still here', extra: 'extra-after-reload' } } });
      expect(tick.ended()).toBe(false);
    } finally {
      writeFileSync(live.supergraphPath, original);
    }
    // Once the original is served again, `limited` is accepted once more.
    const other = (await live.connectAs(user())).client;
    const deadline = Date.now() + 5_000;
    for (;;) {
      const again = subscribe(other, 'subscription { limited { id } }');
      await waitFor(() => live.events.subscribers('limited') === 1 || again.ended(), 'an answer');
      if (!again.ended()) break;
      expect(Date.now(), 'limited served again within 5 s').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  it('stopping the gateway completes every stream with a reason and closes upstream', async () => {
    const second = live.startGateway({ SHUTDOWN_GRACE_MS: '2000' });
    const url = (await second.listen(0, '127.0.0.1')).url.replace(/^http/, 'ws');
    const { client } = await live.connectAs(user(), {}, url);
    const channel = randomUUID();
    const subs = [subscribe(client, TICK, { channel }), subscribe(client, TICK, { channel })];
    await waitFor(() => live.events.subscribers(channel) === 2, 'two upstream subscriptions');
    await second.stop();
    await waitFor(() => subs.every((s) => s.state.completed), 'both completed');
    for (const sub of subs) expect(sub.received.map(codesOf)).toEqual([['SERVICE_UNAVAILABLE']]);
    await waitFor(() => live.events.subscribers(channel) === 0, 'upstream closed', 1_000);
  });
});

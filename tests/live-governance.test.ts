import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { testToken } from '@suoke/platform/testing';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../gateway/src/trusted-documents.js';
import { refusalOf, subscribe, TICK, useLiveStack, user, waitFor } from './live-harness.js';

/**
 * A subscription is an operation like any other: the token at connection_init,
 * the operation limits and validation, `@rateLimit` of its root field, and caps
 * on how many may be open, all checked at subscribe, before anything is opened
 * upstream; and heartbeats on every socket.
 */
const live = useLiveStack();

describe('governance of subscriptions over WebSocket', () => {
  it('the token is read from authorization, Authorization or headers.authorization; none is anonymous', async () => {
    const token = await testToken(user());
    for (const params of [{ Authorization: `Bearer ${token}` }, { headers: { authorization: `Bearer ${token}` } }, {}]) {
      const { client } = live.connect(params);
      const channel = randomUUID();
      subscribe(client, TICK, { channel });
      await waitFor(() => live.events.subscribers(channel) === 1, `subscribed with ${JSON.stringify(Object.keys(params))}`);
      const stream = live.events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!;
      expect(stream.headers.authorization).toBe('authorization' in params || 'Authorization' in params || 'headers' in params ? `Bearer ${token}` : undefined);
    }
  });

  it('a bad token closes the connection at connection_init (4403, UNAUTHENTICATED), before any subscription', async () => {
    const expired = await testToken(user(), { ttlSeconds: -10 });
    for (const authorization of ['Bearer not-a-jwt', `Bearer ${expired}`, 'Basic abc']) {
      const { client, closed } = live.connect({ authorization });
      const sub = subscribe(client, TICK, { channel: randomUUID() });
      await waitFor(() => sub.ended(), 'the refusal');
      expect(closed[0]?.code).toBe(4403);
      expect(closed[0]?.reason).toMatch(/^UNAUTHENTICATED: /);
      expect(sub.received).toEqual([]);
    }
  });

  it('operation limits, validation and the operation type are checked at subscribe', async () => {
    const { client } = await live.connectAs(user());
    const deep = subscribe(client, `subscription { tick(channel: "x") { id ${Array.from({ length: 20 }, (_, i) => `a${i}: name`).join(' ')} } }`);
    const query = subscribe(client, '{ thing(id: "1") { id } }');
    const unknown = subscribe(client, 'subscription { nope }');
    const badVariable = subscribe(client, TICK, { channel: 5 });
    await waitFor(() => [deep, query, unknown, badVariable].every((s) => s.ended()), 'four refusals');
    const code = (s: ReturnType<typeof subscribe>) => refusalOf(s.state.error)?.code;
    expect([code(deep), code(query), code(unknown), code(badVariable)]).toEqual(['GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);
    expect(live.events.subscribers('x')).toBe(0);
  });

  it('@rateLimit of the root field applies at subscribe (RATE_LIMITED past the limit, nothing opened upstream)', async () => {
    const { client } = await live.connectAs(user());
    const subs = [1, 2, 3].map(() => subscribe(client, 'subscription { limited { id } }'));
    await waitFor(() => live.events.subscribers('limited') === 2 && subs.filter((s) => s.ended()).length === 1, 'two accepted, one refused');
    const refused = subs.find((s) => s.ended())!;
    expect(refusalOf(refused.state.error)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(refused.received).toEqual([]);
  });

  it('per-user and per-process caps on open subscriptions refuse with SUBSCRIPTION_LIMIT', async () => {
    const channel = randomUUID();
    const a = (await live.connectAs(user())).client;
    const held = [1, 2, 3].map(() => subscribe(a, TICK, { channel }));
    await waitFor(() => live.events.subscribers(channel) === 3, 'three open');
    const fourth = subscribe(a, TICK, { channel });
    await waitFor(() => fourth.ended(), 'the per-user refusal');
    expect(refusalOf(fourth.state.error)).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', limit: 'caller' });
    // One completed makes room again.
    held[0]!.unsubscribe();
    const again = subscribe(a, TICK, { channel });
    await waitFor(() => live.events.subscribers(channel) === 3 && !again.ended(), 'room again');
    const b = (await live.connectAs(user())).client;
    [1, 2, 3].map(() => subscribe(b, TICK, { channel }));
    await waitFor(() => live.gateway.liveStats.subscriptions === 6, 'six open');
    const c = (await live.connectAs(user())).client;
    const over = subscribe(c, TICK, { channel });
    await waitFor(() => over.ended(), 'the per-process refusal');
    expect(refusalOf(over.state.error)).toMatchObject({ code: 'SUBSCRIPTION_LIMIT', limit: 'process' });
  });

  it('a session signed out mid-stream ends its subscriptions at the next event with UNAUTHENTICATED', async () => {
    const sessionId = randomUUID();
    const { client } = live.connect({ authorization: `Bearer ${await testToken({ ...user(), sessionId })}` });
    const channel = randomUUID();
    const sub = subscribe(client, TICK, { channel });
    await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
    live.gateway.sessions.add(sessionId, Date.now() + 60_000);
    live.events.publish(channel, { id: 'after-logout' });
    await waitFor(() => sub.state.completed, 'the end');
    expect(sub.received.map((p) => p.errors?.map((e) => e.extensions?.code))).toEqual([['UNAUTHENTICATED']]);
    expect(JSON.stringify(sub.received)).not.toContain('after-logout');
    await waitFor(() => live.events.subscribers(channel) === 0, 'upstream closed', 1_000);
  });

  it('trusted documents in require mode: a manifest document runs (as text or by id), any other is refused', async () => {
    const other = 'subscription Other($channel: String!) { tick(channel: $channel) { id } }';
    const manifest = path.join(path.dirname(live.supergraphPath), 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ [sha256(TICK)]: TICK }));
    const guarded = live.startGateway({ TRUSTED_DOCUMENTS: 'require', TRUSTED_DOCUMENTS_PATH: manifest });
    try {
      const url = (await guarded.listen(0, '127.0.0.1')).url.replace(/^http/, 'ws');
      const { client } = await live.connectAs(user(), {}, url);
      const channel = randomUUID();
      const asText = subscribe(client, TICK, { channel });
      const received: unknown[] = [];
      const byId = { done: false, error: undefined as unknown };
      client.subscribe(
        { query: '', variables: { channel }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(TICK) } } },
        { next: (v) => received.push(v), error: (e) => (byId.error = e), complete: () => (byId.done = true) },
      );
      const untrusted = subscribe(client, other, { channel });
      const unknownId = { error: undefined as unknown };
      client.subscribe({ query: '', extensions: { persistedQuery: { version: 1, sha256Hash: 'ab'.repeat(32) } } }, { next: () => {}, error: (e) => (unknownId.error = e), complete: () => {} });
      await waitFor(() => live.events.subscribers(channel) === 2 && untrusted.ended() && unknownId.error !== undefined, 'two accepted, two refused');
      expect(asText.ended() || byId.done || byId.error !== undefined).toBe(false);
      expect(refusalOf(untrusted.state.error)?.code).toBe('OPERATION_NOT_TRUSTED');
      expect(refusalOf(unknownId.error)?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    } finally {
      await guarded.stop();
    }
  });

  it('the gateway pings every connection (keepalive), so idle proxies keep the socket', async () => {
    const socket = new WebSocket(live.wsUrl, 'graphql-transport-ws');
    let pings = 0;
    socket.on('ping', () => (pings += 1));
    await waitFor(() => pings >= 2, 'two pings');
    socket.close();
  });
});

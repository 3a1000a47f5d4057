import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { testToken } from '@suoke/platform/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '../gateway/src/trusted-documents.js';
import { codesOf, MULTIPART_ACCEPT, postSubscription, SSE_ACCEPT, subscribe, TICK, useLiveStack, user, waitFor, type HttpStream } from './live-harness.js';

/**
 * The same governance on the HTTP transports as on WebSocket and on queries:
 * the bearer token of the `authorization` header, trusted documents, limits,
 * `@rateLimit`, CSRF (a simple cross-site POST opens nothing), CORS, the body
 * cap; refusals before the stream as JSON GraphQL errors with a status and a
 * stable code; a subscription asking for no streaming transport refused with
 * SUBSCRIPTION_TRANSPORT_REQUIRED. Also: Sandbox's landing page and
 * connection params, and the subscription metrics.
 */
const live = useLiveStack();
const streams: HttpStream[] = [];
afterEach(() => {
  for (const stream of streams.splice(0)) stream.abort();
});
async function open(accept: string, body: Record<string, unknown>, token?: string, url = live.httpUrl, headers: Record<string, string> = {}) {
  const stream = await postSubscription(url, body, { accept, headers, ...(token ? { token } : {}) });
  streams.push(stream);
  return stream;
}
const TRANSPORTS = [
  ['multipart', MULTIPART_ACCEPT],
  ['SSE', SSE_ACCEPT],
] as const;

describe('governance of subscriptions over multipart and SSE', () => {
  for (const [name, accept] of TRANSPORTS) {
    it(`${name}: a bad or expired token is refused with 401 UNAUTHENTICATED before anything opens; no token is anonymous`, async () => {
      const expired = await testToken(user(), { ttlSeconds: -10 });
      for (const token of ['not-a-jwt', expired]) {
        const refused = await open(accept, { query: TICK, variables: { channel: 'x' } }, token);
        expect(refused.status).toBe(401);
        expect(refused.json.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      }
      expect(live.events.subscribers('x')).toBe(0);
      const channel = randomUUID();
      const anonymous = await open(accept, { query: TICK, variables: { channel } });
      expect(anonymous.status).toBe(200);
      await waitFor(() => live.events.subscribers(channel) === 1, 'the anonymous subscription');
      expect(live.events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!.headers.authorization).toBeUndefined();
    });

    it(`${name}: limits, validation, variables and @rateLimit are checked at subscribe, as JSON errors with a status`, async () => {
      const token = await testToken(user());
      const deep = await open(accept, { query: `subscription { tick(channel: "x") { id ${Array.from({ length: 20 }, (_, i) => `a${i}: name`).join(' ')} } }` }, token);
      const unknown = await open(accept, { query: 'subscription { nope }' }, token);
      const badVariable = await open(accept, { query: TICK, variables: { channel: 5 } }, token);
      expect([deep.status, unknown.status, badVariable.status]).toEqual([400, 400, 400]);
      expect([deep.json, unknown.json, badVariable.json].map((j) => codesOf(j)[0])).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);
      const limited = [await open(accept, { query: 'subscription { limited { id } }' }, token), await open(accept, { query: 'subscription { limited { id } }' }, token)];
      expect(limited.map((s) => s.status)).toEqual([200, 200]);
      const third = await open(accept, { query: 'subscription { limited { id } }' }, token);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(third.json.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
      expect(third.json.errors[0].extensions.http).toBeUndefined();
      await waitFor(() => live.events.subscribers('limited') === 2, 'two accepted');
      expect(live.events.subscribers('x')).toBe(0);
    });

    it(`${name}: a simple cross-site POST (text/plain, form) opens no stream: Apollo's CSRF check refuses it`, async () => {
      const channel = randomUUID();
      for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
        const response = await fetch(live.httpUrl, {
          method: 'POST',
          headers: { 'content-type': type, accept, origin: 'https://evil.example' },
          body: JSON.stringify({ query: TICK, variables: { channel } }),
        });
        expect(response.status).toBe(400);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(live.events.subscribers(channel)).toBe(0);
    });

    it(`${name}: CORS from the edge: an allowed origin (Sandbox's) gets its headers on the stream, after a preflight that grants accept`, async () => {
      const preflight = await fetch(live.httpUrl, {
        method: 'OPTIONS',
        headers: { origin: 'https://studio.apollographql.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'accept, content-type, authorization' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-headers')).toContain('accept');
      const stream = await open(accept, { query: TICK, variables: { channel: randomUUID() } }, await testToken(user()), live.httpUrl, { origin: 'https://studio.apollographql.com' });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
    });

    it(`${name}: the body-size cap answers 413 before anything opens`, async () => {
      const response = await fetch(live.httpUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: TICK, variables: { channel: 'x'.repeat(2_000_000) } }),
      });
      expect(response.status).toBe(413);
      expect((await response.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    });
  }

  it('a subscription POSTed asking for neither multipart nor SSE, or sent with GET, or with a @defer accept only, is refused with SUBSCRIPTION_TRANSPORT_REQUIRED naming the three transports', async () => {
    const token = await testToken(user());
    const post = (accept: string) =>
      fetch(live.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json', accept, authorization: `Bearer ${token}` }, body: JSON.stringify({ query: TICK, variables: { channel: 'x' } }) });
    const get = fetch(`${live.httpUrl}?query=${encodeURIComponent(TICK)}&variables=${encodeURIComponent('{"channel":"x"}')}`, { headers: { 'apollo-require-preflight': 'true' } });
    for (const response of [await post('application/json'), await post('multipart/mixed;deferSpec=20220824,application/json'), await get]) {
      const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(response.status).toBe(400);
      expect(body.errors[0]!.extensions.code).toBe('SUBSCRIPTION_TRANSPORT_REQUIRED');
      expect(body.errors[0]!.message).toMatch(/graphql-ws/);
      expect(body.errors[0]!.message).toMatch(/multipart\/mixed;subscriptionSpec=1\.0/);
      expect(body.errors[0]!.message).toMatch(/text\/event-stream/);
    }
    expect(live.events.subscribers('x')).toBe(0);
  });

  it('a query sent with a streaming accept header is left to Apollo Server and answered as a query', async () => {
    const response = await fetch(live.httpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: MULTIPART_ACCEPT },
      body: JSON.stringify({ query: '{ thing(id: "q1") { id name extra } }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { thing: { id: 'q1', name: 'thing q1', extra: 'extra-q1' } } });
  });

  it('trusted documents in require mode: a manifest subscription runs (as text or by id) over multipart and SSE, any other is refused with OPERATION_NOT_TRUSTED', async () => {
    const manifest = path.join(path.dirname(live.supergraphPath), 'manifest-http.json');
    writeFileSync(manifest, JSON.stringify({ [sha256(TICK)]: TICK }));
    const guarded = live.startGateway({ TRUSTED_DOCUMENTS: 'require', TRUSTED_DOCUMENTS_PATH: manifest });
    try {
      const url = (await guarded.listen(0, '127.0.0.1')).url;
      const channel = randomUUID();
      for (const [, accept] of TRANSPORTS) {
        // One user per transport: three subscriptions each would pass the per-user cap of 3.
        const token = await testToken(user());
        const asText = await open(accept, { query: TICK, variables: { channel } }, token, url);
        const byId = await open(accept, { variables: { channel }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(TICK) } } }, token, url);
        const untrusted = await open(accept, { query: 'subscription Other($channel: String!) { tick(channel: $channel) { id } }', variables: { channel } }, token, url);
        expect([asText.status, byId.status]).toEqual([200, 200]);
        expect(untrusted.status).toBe(400);
        expect(untrusted.json.errors[0].extensions.code).toBe('OPERATION_NOT_TRUSTED');
      }
      await waitFor(() => live.events.subscribers(channel) === 4, 'four accepted');
    } finally {
      for (const stream of streams.splice(0)) stream.abort();
      await guarded.stop();
    }
  });
});

describe('Apollo Sandbox in development', () => {
  it('the landing page embeds Sandbox with its subscription endpoint on this /graphql over WebSocket', async () => {
    const response = await fetch(live.httpUrl, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('EmbeddedSandbox');
    expect(html).toMatch(/initialSubscriptionEndpoint: endpoint\.replace\(\/\^http\/, 'ws'\)/);
  });

  it('a subscription with the connection params Sandbox sends (its headers, `Authorization`) runs', async () => {
    const token = await testToken(user());
    const { client } = live.connect({ Authorization: `Bearer ${token}` });
    const channel = randomUUID();
    const sub = subscribe(client, TICK, { channel });
    await waitFor(() => live.events.subscribers(channel) === 1, 'the upstream subscription');
    expect(live.events.requests.filter((r) => r.path === '/graphql/stream').at(-1)!.headers.authorization).toBe(`Bearer ${token}`);
    live.events.publish(channel, { id: 'sb1', name: 'sandbox' });
    await waitFor(() => sub.received.length === 1, 'the event');
    expect(sub.received[0]).toEqual({ data: { tick: { id: 'sb1', name: 'sandbox', extra: 'extra-sb1' } } });
  });
});

describe('subscription metrics', () => {
  it('open subscriptions by transport, events sent, refusals and ends by reason, hydration time', async () => {
    const read = async () => live.gateway.metrics.registry.metrics();
    const value = (text: string, name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}(,[^}]*)?\\} (\\S+)$`, 'm').exec(text)?.[2] ?? 0);
    const before = await read();
    const token = await testToken(user());
    const channel = randomUUID();
    const sse = await open(SSE_ACCEPT, { query: TICK, variables: { channel } }, token);
    await open(MULTIPART_ACCEPT, { query: TICK, variables: { channel } }, token);
    await waitFor(() => live.events.subscribers(channel) === 2, 'two open');
    let now = await read();
    expect(value(now, 'suoke_subscriptions_open', 'transport="sse"') - value(before, 'suoke_subscriptions_open', 'transport="sse"')).toBe(1);
    expect(value(now, 'suoke_subscriptions_open', 'transport="multipart"') - value(before, 'suoke_subscriptions_open', 'transport="multipart"')).toBe(1);
    live.events.publish(channel, { id: 'metric' });
    await waitFor(() => sse.parts.some((p) => p.event === 'next'), 'the event');
    sse.abort();
    await waitFor(() => live.events.subscribers(channel) === 1, 'one closed');
    now = await read();
    expect(value(now, 'suoke_subscription_events_total', 'transport="sse"') - value(before, 'suoke_subscription_events_total', 'transport="sse"')).toBe(1);
    expect(value(now, 'suoke_subscriptions_ended_total', 'transport="sse",reason="client"') - value(before, 'suoke_subscriptions_ended_total', 'transport="sse",reason="client"')).toBe(1);
    expect(value(now, 'suoke_subscriptions_open', 'transport="sse"')).toBe(value(before, 'suoke_subscriptions_open', 'transport="sse"'));
    expect(value(now, 'suoke_subscription_event_hydration_duration_seconds_count', '[^}]*')).toBeGreaterThan(value(before, 'suoke_subscription_event_hydration_duration_seconds_count', '[^}]*'));
    await open(SSE_ACCEPT, { query: 'subscription { nope }' }, token);
    now = await read();
    expect(value(now, 'suoke_subscriptions_refused_total', 'transport="sse",code="GRAPHQL_VALIDATION_FAILED"')).toBeGreaterThanOrEqual(1);
  });
});

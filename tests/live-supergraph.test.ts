import { randomUUID } from 'node:crypto';
import { testServiceToken } from '@suoke/platform/testing';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startStack, type Stack } from './harness.js';
import { subscribe, waitFor } from './live-harness.js';

// The real supergraph, end to end: a client holds `notificationAdded` on the gateway over
// graphql-ws, the gateway holds it on the user subgraph over graphql-sse, and a service posts
// notifications through the gateway as the diagnosis saga does.
const ADDED = 'subscription { notificationAdded { id title body } }';
const POST = 'mutation Post($input: PostNotificationInput!) { postNotification(input: $input) { id } }';

describe('subscriptions through the composed supergraph', () => {
  let stack: Stack;
  const clients: Client[] = [];
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await stack?.stop();
  });

  /** A new account, signed up through the gateway: its id and access token. */
  const signUp = async () => {
    const answer = await stack.query<{ register: { accessToken: string; user: { id: string } } }>(
      'mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
      { input: { email: `live-${randomUUID()}@example.com`, password: 'correct-horse-battery-staple', displayName: 'Live' } },
    );
    expect(codes(answer)).toEqual([]);
    return { id: answer.data!.register.user.id, token: answer.data!.register.accessToken };
  };

  const connect = async (token: string) => {
    const client = createClient({ url: stack.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    clients.push(client);
    return client;
  };

  it("delivers a user's own notifications, posted through the gateway, and nobody else's", async () => {
    const [alice, bob] = [await signUp(), await signUp()];
    const aliceStream = subscribe(await connect(alice.token), ADDED);
    const bobStream = subscribe(await connect(bob.token), ADDED);
    const service = await testServiceToken('diagnosis', ['notifications:write']);
    const input = { userId: alice.id, kind: 'REPORT_READY', title: '报告已生成', body: '你的体质报告已生成', reportId: randomUUID() };
    // The upstream stream opens asynchronously, and a notification is announced once, when first stored:
    // post new ones until the first event arrives.
    const posted: string[] = [];
    for (let i = 0; i < 50 && aliceStream.received.length === 0 && !aliceStream.ended(); i += 1) {
      const answer = await stack.query<{ postNotification: { id: string } }>(POST, { input: { ...input, key: `live-${randomUUID()}` } }, service);
      expect(codes(answer), JSON.stringify(answer.errors)).toEqual([]);
      posted.push(answer.data!.postNotification.id);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(aliceStream.state.error, JSON.stringify(aliceStream.state.error)).toBeUndefined();
    const first = aliceStream.received[0]?.data?.notificationAdded;
    expect(posted).toContain(first?.id);
    expect(first).toEqual({ id: first?.id, title: input.title, body: input.body });
    // Bob's subscription is open and received nothing of Alice's.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bobStream.ended()).toBe(false);
    expect(bobStream.received).toEqual([]);
    aliceStream.unsubscribe();
    bobStream.unsubscribe();
  });

  it('refuses an anonymous subscriber to notificationAdded with UNAUTHENTICATED', async () => {
    const client = createClient({ url: stack.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    clients.push(client);
    const stream = subscribe(client, ADDED);
    await waitFor(() => stream.ended() || stream.received.length > 0, 'a refusal', 10_000);
    const codesSeen = [...stream.received.flatMap((p) => (p.errors ?? []).map((e) => e.extensions?.code)), ...((stream.state.error as { extensions?: { code?: string } }[] | undefined) ?? []).map((e) => e.extensions?.code)];
    expect(codesSeen).toContain('UNAUTHENTICATED');
  });
});

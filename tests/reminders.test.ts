import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { testServiceToken } from '@suoke/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startStack, type Stack } from './harness.js';
import { subscribe, waitFor } from './live-harness.js';

// 索儿's reminder, end to end: created through the gateway, fired by the agent subgraph's job engine (pg-boss,
// polling every 500 ms here), posted to the user subgraph's postNotification through the gateway with the agent's
// own service credential (scope notifications:write), and seen by the app as `notificationAdded` and in
// `me { notifications }` — once, though the occurrence's job is delivered twice.

const ADDED = 'subscription { notificationAdded { id kind title body } }';
const POST = 'mutation Post($input: PostNotificationInput!) { postNotification(input: $input) { id } }';
const CREATE = 'mutation($input: CreateReminderInput!) { createReminder(input: $input) { id nextFireAt status } }';

describe('a reminder firing through the supergraph', () => {
  let stack: Stack;
  const clients: Client[] = [];
  beforeAll(async () => {
    stack = await startStack({ subgraphEnv: { JOBS_POLL_INTERVAL_MS: '500' } });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await stack?.stop();
  });

  it('becomes one notification and one notificationAdded event, and the next day is scheduled', async () => {
    const signedUp = await stack.query<{ register: { accessToken: string; user: { id: string } } }>(
      'mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
      { input: { email: `soer-${randomUUID()}@example.com`, password: 'correct-horse-battery-staple', displayName: '索儿的用户' } },
    );
    const { accessToken: token, user } = signedUp.data!.register;
    const client = createClient({ url: stack.gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, connectionParams: { authorization: `Bearer ${token}` } });
    clients.push(client);
    const stream = subscribe(client, ADDED);
    // The upstream stream opens asynchronously: post warm-up notifications (as the saga would) until one arrives.
    const service = await testServiceToken('diagnosis', ['notifications:write']);
    for (let i = 0; i < 50 && stream.received.length === 0 && !stream.ended(); i += 1) {
      const warm = await stack.query(POST, { input: { key: `warm-${randomUUID()}`, userId: user.id, kind: 'REPORT_READY', title: 'warm-up', body: 'warm-up' } }, service);
      expect(codes(warm)).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await waitFor(() => stream.received.length > 0, 'the warm-up event', 10_000);
    const warmUps = stream.received.length;

    const startsAt = DateTime.now().setZone('Asia/Shanghai').plus({ days: 2 }).toFormat("yyyy-MM-dd'T'HH:mm");
    const created = await stack.query<{ createReminder: { id: string; nextFireAt: string; status: string } }>(
      CREATE,
      { input: { text: '晚上十点前睡觉 sleep-4f2a', startsAt, timeZone: 'Asia/Shanghai', recurrence: 'DAILY', clientKey: 'e2e-1' } },
      token,
    );
    expect(codes(created)).toEqual([]);
    const { id, nextFireAt } = created.data!.createReminder;

    // Due now: the agent's worker fires it on its next poll.
    const agentDb = stack.databases.agent!.database;
    await agentDb.exec(`update agent_jobs.job set start_after = now() where name = 'reminder-fire' and data->>'reminderId' = '${id}'`);
    await waitFor(() => stream.received.length > warmUps, 'the reminder event', 20_000);
    expect(stream.received[warmUps]?.data?.notificationAdded).toMatchObject({ kind: 'REMINDER', title: '索儿提醒你', body: '晚上十点前睡觉 sleep-4f2a' });

    // The same occurrence's job delivered again (as after a crash): it finds the occurrence fired and posts nothing.
    await agentDb.exec(`insert into agent_jobs.job (name, data) values ('reminder-fire', '{"reminderId":"${id}","occurrence":0}')`);
    const reminders = async () =>
      (await stack.query<{ reminders: { edges: { node: { firedCount: number; nextFireAt: string } }[] } }>('{ reminders { edges { node { firedCount nextFireAt } } } }', {}, token)).data!
        .reminders.edges[0]!.node;
    const completed = async () =>
      Number(
        (await agentDb.rows<{ n: number }>(sql`select count(*)::int as n from agent_jobs.job where name = 'reminder-fire' and data->>'reminderId' = ${id} and (data->>'occurrence')::int = 0 and state = 'completed'`))[0]!.n,
      );
    for (let i = 0; i < 100 && (await completed()) < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await completed()).toBe(2);
    const inbox = await stack.query<{ me: { notifications: { edges: { node: { kind: string; body: string } }[] } } }>(
      '{ me { notifications(first: 50) { edges { node { kind body } } } } }',
      {},
      token,
    );
    expect(inbox.data!.me.notifications.edges.filter((e) => e.node.kind === 'REMINDER')).toEqual([{ node: { kind: 'REMINDER', body: '晚上十点前睡觉 sleep-4f2a' } }]);
    expect(stream.received.slice(warmUps)).toHaveLength(1);
    expect(await reminders()).toEqual({ firedCount: 1, nextFireAt: new Date(Date.parse(nextFireAt) + 86_400_000).toISOString() });
  }, 60_000);
});

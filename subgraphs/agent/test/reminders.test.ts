import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubgraphDefinition } from '@suoke/platform';
import { startTestSubgraph, until } from '@suoke/platform/testing';
import type { AgentConfig } from '../src/config.js';
import { createAgentSubgraph, definition, type AgentSubgraph } from '../src/server.js';
import type { NotificationPost } from '../src/service/notify.js';
import { occurrenceAt } from '../src/service/reminder-time.js';
import { REMINDER_QUEUE } from '../src/service/reminders.js';

// Reminders through the agent subgraph's API, firing on its job engine (pg-boss in agent_jobs, polled every 500 ms).
// The user subgraph's postNotification is replaced by a recorder; tests/reminders.test.ts goes through the gateway.

const posted: NotificationPost[] = [];
let instance: AgentSubgraph;
let agent: Awaited<ReturnType<typeof startTestSubgraph>>;

beforeAll(async () => {
  const custom: SubgraphDefinition<AgentConfig> = {
    ...definition,
    create: (options) =>
      (instance = createAgentSubgraph({
        ...options,
        notify: async (post) => {
          posted.push(post);
          return 'POSTED';
        },
      })),
  };
  agent = await startTestSubgraph(custom as unknown as SubgraphDefinition, { env: { GATEWAY_URL: 'http://127.0.0.1:9/graphql', JOBS_POLL_INTERVAL_MS: '500' } });
}, 60_000);
afterAll(async () => {
  await agent?.close();
});

const REMINDER = 'id text startsAt timeZone recurrence status nextFireAt nextFireAtLocal firedCount lastFiredAt createdAt';
const CREATE = `mutation($input: CreateReminderInput!) { createReminder(input: $input) { ${REMINDER} } }`;
const CANCEL = `mutation($id: ID!) { cancelReminder(input: { id: $id }) { ${REMINDER} } }`;
const LIST = `query($first: Int, $after: String) { reminders(first: $first, after: $after) { edges { node { id text } cursor } pageInfo { hasNextPage endCursor } } }`;

interface ReminderView {
  id: string;
  text: string;
  startsAt: string;
  timeZone: string;
  recurrence: string;
  status: string;
  nextFireAt: string | null;
  nextFireAtLocal: string | null;
  firedCount: number;
}

const newUser = () => ({ id: randomUUID() });
const inAWeek = (zone: string) => DateTime.now().setZone(zone).plus({ days: 7 }).toFormat("yyyy-MM-dd'T'HH:mm");

async function create(user: { id: string }, input: Record<string, unknown>) {
  return agent.gql<{ createReminder: ReminderView }>(CREATE, { input }, user);
}

const count = async (query: ReturnType<typeof sql>) => Number((await agent.database.rows<{ n: number }>(query))[0]!.n);
const jobsOf = (id: string) =>
  agent.database.rows<{ occurrence: number; state: string; start_after: Date | string }>(
    sql`select (data->>'occurrence')::int as occurrence, state::text, start_after from agent_jobs.job where name = ${REMINDER_QUEUE} and data->>'reminderId' = ${id} order by 1`,
  );
/** Makes the reminder's waiting job due now: the worker picks it up on its next poll. */
const dueNow = (id: string) => agent.database.exec(`update agent_jobs.job set start_after = now() where name = '${REMINDER_QUEUE}' and data->>'reminderId' = '${id}' and state = 'created'`);


describe('createReminder: validation', () => {
  it.each([
    [{ text: ' ', startsAt: '2030-01-01T08:00', timeZone: 'Asia/Shanghai' }, 'input.text', 'text must have 1–500 characters'],
    [{ text: 'x', startsAt: '2030-02-30T08:00', timeZone: 'Asia/Shanghai' }, 'input.startsAt', 'received "2030-02-30T08:00"'],
    [{ text: 'x', startsAt: '2030-01-01 08:00', timeZone: 'Asia/Shanghai' }, 'input.startsAt', 'YYYY-MM-DDTHH:mm'],
    [{ text: 'x', startsAt: '2030-01-01T08:00:00+08:00', timeZone: 'Asia/Shanghai' }, 'input.startsAt', 'no seconds, no offset'],
    [{ text: 'x', startsAt: '2030-01-01T08:00', timeZone: 'Mars/Olympus' }, 'input.timeZone', 'received "Mars/Olympus"'],
    [{ text: 'x', startsAt: '2020-01-01T08:00', timeZone: 'Asia/Shanghai' }, 'input.startsAt', 'must be in the future in Asia/Shanghai'],
    [{ text: 'x', startsAt: '2099-01-01T08:00', timeZone: 'Asia/Shanghai' }, 'input.startsAt', 'at most 5 years ahead'],
  ])('%j is BAD_USER_INPUT naming %s, and writes nothing', async (input, field, message) => {
    const before = await count(sql`select count(*)::int as n from agent.reminders`);
    const jobs = await count(sql`select count(*)::int as n from agent_jobs.job where name = ${REMINDER_QUEUE}`);
    const result = await create(newUser(), input);
    expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(result.errors?.[0]?.message).toContain(message);
    expect(await count(sql`select count(*)::int as n from agent.reminders`)).toBe(before);
    expect(await count(sql`select count(*)::int as n from agent_jobs.job where name = ${REMINDER_QUEUE}`)).toBe(jobs);
  });

  it('anonymous callers are refused', async () => {
    const result = await agent.gql(CREATE, { input: { text: 'x', startsAt: '2030-01-01T08:00', timeZone: 'Asia/Shanghai' } });
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('time zones and daylight saving', () => {
  it('a wall-clock time in the user’s zone becomes the right instant, and a daily time keeps its wall clock across DST', async () => {
    const user = newUser();
    const shanghai = await create(user, { text: '喝水', startsAt: '2030-01-01T09:00', timeZone: 'Asia/Shanghai' });
    expect(shanghai.data?.createReminder).toMatchObject({ nextFireAt: '2030-01-01T01:00:00.000Z', nextFireAtLocal: '2030-01-01T09:00', status: 'ACTIVE', recurrence: 'NONE' });
    // New York springs forward on 2030-03-10: 08:00 EST is 13:00Z the day before, 08:00 EDT is 12:00Z after.
    const daily = await create(user, { text: 'walk', startsAt: '2030-03-09T08:00', timeZone: 'America/New_York', recurrence: 'DAILY' });
    expect(daily.data?.createReminder.nextFireAt).toBe('2030-03-09T13:00:00.000Z');
    expect(occurrenceAt('2030-03-09T08:00', 'America/New_York', 'DAILY', 1).toISOString()).toBe('2030-03-10T12:00:00.000Z');
    expect(occurrenceAt('2030-03-09T08:00', 'America/New_York', 'WEEKLY', 1).toISOString()).toBe('2030-03-16T12:00:00.000Z');
    // 02:30 does not exist that night: it fires at 03:30 EDT. 01:30 on 2030-11-03 happens twice: it fires once, at the second.
    const skipped = await create(user, { text: 'gap', startsAt: '2030-03-10T02:30', timeZone: 'America/New_York' });
    expect(skipped.data?.createReminder).toMatchObject({ nextFireAt: '2030-03-10T07:30:00.000Z', nextFireAtLocal: '2030-03-10T03:30' });
    const repeated = await create(user, { text: 'fold', startsAt: '2030-11-03T01:30', timeZone: 'America/New_York' });
    expect(repeated.data?.createReminder.nextFireAt).toBe('2030-11-03T06:30:00.000Z');
  });

  it('a recurring reminder whose start has passed begins at its next occurrence still to come', async () => {
    const zone = 'Europe/London';
    const hourAgo = DateTime.now().setZone(zone).minus({ hours: 1 });
    const result = await create(newUser(), { text: 'stretch', startsAt: hourAgo.minus({ days: 3 }).toFormat("yyyy-MM-dd'T'HH:mm"), timeZone: zone, recurrence: 'DAILY' });
    const next = new Date(result.data!.createReminder.nextFireAt!);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThan(24 * 3_600_000);
  });
});

describe('firing', () => {
  it('a one-off reminder posts one notification keyed by its occurrence and is done', async () => {
    const user = newUser();
    const { id } = (await create(user, { text: '吃药', startsAt: inAWeek('Asia/Shanghai'), timeZone: 'Asia/Shanghai' })).data!.createReminder;
    await dueNow(id);
    await until('the reminder to fire', async () => ((await jobsOf(id))[0]?.state === 'completed' ? true : undefined));
    expect(posted.filter((p) => p.userId === user.id)).toEqual([{ key: `reminder:${id}:0`, userId: user.id, kind: 'REMINDER', title: '索儿提醒你', body: '吃药' }]);
    const list = await agent.gql<{ reminders: { edges: { node: { id: string } }[] } }>(`{ reminders { edges { node { id status firedCount nextFireAt lastFiredAt } } } }`, {}, user);
    expect(list.data?.reminders.edges[0]?.node).toMatchObject({ id, status: 'DONE', firedCount: 1, nextFireAt: null });
  });

  it('a daily reminder schedules its next occurrence exactly once, however often the fired job is delivered', async () => {
    const user = newUser();
    const startsAt = inAWeek('Asia/Tokyo');
    const { id } = (await create(user, { text: 'stand up', startsAt, timeZone: 'Asia/Tokyo', recurrence: 'DAILY' })).data!.createReminder;
    await dueNow(id);
    // The next occurrence is scheduled inside the handler; its job completes when the handler returns.
    await until('occurrence 0 to fire and complete', async () => {
      const jobs = await jobsOf(id);
      return jobs.length === 2 && jobs[0]?.state === 'completed' ? true : undefined;
    });
    // The same occurrence delivered again (a retry after a crash): nothing is posted, nothing is scheduled.
    expect(await instance.reminders.fire({ reminderId: id, occurrence: 0 })).toBe('STALE');
    const jobs = await jobsOf(id);
    expect(jobs.map((j) => [j.occurrence, j.state])).toEqual([
      [0, 'completed'],
      [1, 'created'],
    ]);
    expect(new Date(jobs[1]!.start_after).toISOString()).toBe(occurrenceAt(startsAt, 'Asia/Tokyo', 'DAILY', 1).toISOString());
    expect(posted.filter((p) => p.userId === user.id).map((p) => p.key)).toEqual([`reminder:${id}:0`]);
    // And the next occurrence fires in turn.
    await dueNow(id);
    await until('occurrence 1 to fire', async () => ((await jobsOf(id)).length === 3 ? true : undefined));
    expect(posted.filter((p) => p.userId === user.id).map((p) => p.key)).toEqual([`reminder:${id}:0`, `reminder:${id}:1`]);
  });

  it('a cancelled reminder fires nothing; cancelling is idempotent and someone else’s reminder is NOT_FOUND', async () => {
    const user = newUser();
    const { id } = (await create(user, { text: 'cancel me', startsAt: inAWeek('UTC'), timeZone: 'UTC', recurrence: 'WEEKLY' })).data!.createReminder;
    expect((await agent.gql(CANCEL, { id }, newUser())).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const cancelled = await agent.gql<{ cancelReminder: ReminderView }>(CANCEL, { id }, user);
    expect(cancelled.data?.cancelReminder).toMatchObject({ id, status: 'CANCELLED', nextFireAt: null });
    expect((await agent.gql<{ cancelReminder: ReminderView }>(CANCEL, { id }, user)).data?.cancelReminder.status).toBe('CANCELLED');
    await dueNow(id);
    await until('the stale job to complete', async () => ((await jobsOf(id))[0]?.state === 'completed' ? true : undefined));
    expect(posted.filter((p) => p.userId === user.id)).toEqual([]);
    expect(await jobsOf(id)).toHaveLength(1);
  });
});

describe('idempotency and listing', () => {
  it('the same clientKey, even sent concurrently, creates one reminder and one job', async () => {
    const user = newUser();
    const input = { text: 'once', startsAt: inAWeek('Asia/Shanghai'), timeZone: 'Asia/Shanghai', clientKey: 'key-1' };
    const results = await Promise.all([1, 2, 3, 4].map(() => create(user, input)));
    const ids = new Set(results.map((r) => r.data?.createReminder.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(await count(sql`select count(*)::int as n from agent.reminders where user_id = ${user.id}`)).toBe(1);
    expect(await jobsOf(id!)).toHaveLength(1);
  });

  it('the service returns what the create_reminder tool reads', async () => {
    const created = await instance.reminders.create(randomUUID(), { text: ' tea ', startsAt: '2030-06-01T15:00', timeZone: 'Asia/Shanghai', recurrence: 'WEEKLY' });
    expect(created).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), text: 'tea', nextFireAt: '2030-06-01T07:00:00.000Z', recurrence: 'WEEKLY', timeZone: 'Asia/Shanghai' });
  });

  it('reminders pages the caller’s own, newest first, with one SQL statement per page whatever its size', async () => {
    const user = newUser();
    for (const text of ['a', 'b', 'c']) await create(user, { text, startsAt: inAWeek('UTC'), timeZone: 'UTC' });
    await create(newUser(), { text: 'not mine', startsAt: inAWeek('UTC'), timeZone: 'UTC' });
    type Page = { reminders: { edges: { node: { text: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const small = await agent.countStatements(() => agent.gql<Page>(LIST, { first: 1 }, user));
    const large = await agent.countStatements(() => agent.gql<Page>(LIST, { first: 3 }, user));
    expect(large.result.data?.reminders.edges.map((e) => e.node.text)).toEqual(['c', 'b', 'a']);
    expect(large.statements).toBe(small.statements);
    const second = await agent.gql<Page>(LIST, { first: 2, after: small.result.data?.reminders.pageInfo.endCursor }, user);
    expect(second.data?.reminders.edges.map((e) => e.node.text)).toEqual(['b', 'a']);
    expect(second.data?.reminders.pageInfo.hasNextPage).toBe(false);
  });
});

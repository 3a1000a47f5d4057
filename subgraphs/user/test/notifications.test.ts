import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServiceToken, testToken } from '@suoke/platform/testing';
import { REGISTER, codesByPath, startUserSubgraph, type UserHarness } from './harness.js';

// A user's notifications: posted by services (the report saga) idempotently by
// key, retracted as tombstones, read by their owner only, one statement per page batch.

let users: UserHarness;
let service: string;

beforeAll(async () => {
  users = await startUserSubgraph();
  service = await testServiceToken('diagnosis', ['reports:explain', 'notifications:write']);
});
afterAll(async () => {
  await users?.close();
});

const POST = `mutation ($input: PostNotificationInput!) { postNotification(input: $input) { id kind title body reportId readAt } }`;
const RETRACT = `mutation ($key: String!) { retractNotification(key: $key) }`;
const INBOX = `query ($first: Int, $after: String) { me { notifications(first: $first, after: $after) { edges { cursor node { id kind title reportId readAt } } pageInfo { hasNextPage endCursor } } } }`;

async function register(): Promise<{ id: string; token: string }> {
  const result = await users.gql<any>(REGISTER, { input: { email: `inbox-${randomUUID()}@example.com`, password: 'inbox-password-2026', displayName: '李雷' } });
  expect(result.errors).toBeUndefined();
  return { id: result.data.register.user.id, token: result.data.register.accessToken };
}

const notice = (userId: string, key = `report:${randomUUID()}:1:notify`) => ({
  key,
  userId,
  kind: 'REPORT_READY',
  title: '你的体质辨识报告已生成',
  body: '小艾已经为你解读了这次四诊合参的结果。',
  reportId: randomUUID(),
});

async function inbox(token: string, first = 20, after?: string) {
  const result = await users.gql<any>(INBOX, { first, after }, token);
  expect(result.errors).toBeUndefined();
  return result.data.me.notifications;
}

describe('notifications', () => {
  it('a service posts once per key; the owner reads them newest first and pages through them', async () => {
    const user = await register();
    const first = notice(user.id);
    const posted = await Promise.all([1, 2, 3].map(() => users.gql<any>(POST, { input: first }, service)));
    for (const answer of posted) expect(answer.errors).toBeUndefined();
    expect(new Set(posted.map((p) => p.data.postNotification.id)).size).toBe(1);
    const second = await users.gql<any>(POST, { input: notice(user.id) }, service);
    const page1 = await inbox(user.token, 1);
    expect(page1.edges.map((e: any) => e.node.id)).toEqual([second.data.postNotification.id]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = await inbox(user.token, 1, page1.pageInfo.endCursor);
    expect(page2.edges.map((e: any) => e.node)).toEqual([{ id: posted[0]!.data.postNotification.id, kind: 'REPORT_READY', title: first.title, reportId: first.reportId, readAt: null }]);
    expect(page2.pageInfo.hasNextPage).toBe(false);

    const read = await users.gql<any>(`mutation ($id: ID!) { markNotificationRead(id: $id) { id readAt } }`, { id: second.data.postNotification.id }, user.token);
    expect(read.data.markNotificationRead.readAt).toEqual(expect.any(String));
  });

  it('retraction hides the notification, is idempotent, and bars its key; a retraction that comes first leaves a tombstone', async () => {
    const user = await register();
    const posted = notice(user.id);
    await users.gql<any>(POST, { input: posted }, service);
    for (let i = 0; i < 2; i++) expect((await users.gql<any>(RETRACT, { key: posted.key }, service)).data).toEqual({ retractNotification: true });
    expect((await inbox(user.token)).edges).toEqual([]);
    expect(codesByPath((await users.gql<any>(POST, { input: posted }, service)).errors)).toEqual({ postNotification: 'CONFLICT' });

    const early = notice(user.id);
    expect((await users.gql<any>(RETRACT, { key: early.key }, service)).data).toEqual({ retractNotification: true });
    expect(codesByPath((await users.gql<any>(POST, { input: early }, service)).errors)).toEqual({ postNotification: 'CONFLICT' });
    expect((await inbox(user.token)).edges).toEqual([]);
  });

  it('only services with notifications:write post; only the owner reads or marks', async () => {
    const user = await register();
    const other = await register();
    expect(codesByPath((await users.gql<any>(POST, { input: notice(user.id) }, user.token)).errors)).toEqual({ postNotification: 'FORBIDDEN' });
    const admin = await testToken({ id: randomUUID(), roles: ['ADMIN'] });
    expect(codesByPath((await users.gql<any>(POST, { input: notice(user.id) }, admin)).errors)).toEqual({ postNotification: 'FORBIDDEN' });
    const agentService = await testServiceToken('agent', []);
    expect(codesByPath((await users.gql<any>(RETRACT, { key: 'k' }, agentService)).errors)).toEqual({ retractNotification: 'FORBIDDEN' });
    const posted = await users.gql<any>(POST, { input: notice(user.id) }, service);

    const foreign = await users.gql<any>(
      `{ _entities(representations: [{ __typename: "User", id: "${user.id}" }]) { ... on User { notifications { edges { node { id } } } } } }`,
      {},
      other.token,
    );
    expect(codesByPath(foreign.errors)).toEqual({ '_entities.0.notifications': 'FORBIDDEN' });
    const adminRead = await users.gql<any>(
      `{ _entities(representations: [{ __typename: "User", id: "${user.id}" }]) { ... on User { notifications { edges { node { id } } } } } }`,
      {},
      admin,
    );
    expect(codesByPath(adminRead.errors)).toEqual({ '_entities.0.notifications': 'FORBIDDEN' });
    const mark = await users.gql<any>(`mutation ($id: ID!) { markNotificationRead(id: $id) { id } }`, { id: posted.data.postNotification.id }, other.token);
    expect(codesByPath(mark.errors)).toEqual({ markNotificationRead: 'NOT_FOUND' });
  });

  it('bad input names its field and stores nothing', async () => {
    const user = await register();
    const cases = [
      [{ key: ' ' }, 'input.key'],
      [{ userId: 'x' }, 'input.userId'],
      [{ userId: randomUUID() }, 'input.userId'],
      [{ title: '' }, 'input.title'],
      [{ body: 'x'.repeat(1001) }, 'input.body'],
      [{ reportId: 'nope' }, 'input.reportId'],
    ] as const;
    for (const [patch, field] of cases) {
      const result = await users.gql<any>(POST, { input: { ...notice(user.id), ...patch } }, service);
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.extensions?.field).toBe(field);
    }
    expect((await inbox(user.token)).edges).toEqual([]);
  });

  it('reads any number of notification pages in one statement', async () => {
    const owner = await register();
    for (let i = 0; i < 3; i++) await users.gql<any>(POST, { input: notice(owner.id) }, service);
    // Only the owner reads an inbox, so several pages of one inbox (aliases with different sizes) make the batch.
    const query = (n: number) => `{ me { ${Array.from({ length: n }, (_, i) => `p${i}: notifications(first: ${i + 1}) { edges { node { id } } }`).join(' ')} } }`;
    // The account itself comes from the entity cache once read: read it first, so both counts are of pages alone.
    await users.gql<any>('{ me { id } }', {}, owner.token);
    const one = await users.countStatements(() => users.gql<any>(query(1), {}, owner.token));
    const many = await users.countStatements(() => users.gql<any>(query(6), {}, owner.token));
    expect(one.result.errors).toBeUndefined();
    expect(many.result.errors).toBeUndefined();
    expect(many.result.data.me.p5.edges).toHaveLength(3);
    expect(many.result.data.me.p1.edges).toHaveLength(2);
    expect(many.statements).toBe(one.statements);
  });
});

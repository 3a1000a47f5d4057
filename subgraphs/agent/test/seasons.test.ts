import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubgraphDefinition } from '@suoke/platform';
import { startTestSubgraph } from '@suoke/platform/testing';
import type { AgentConfig } from '../src/config.js';
import { createAgentSubgraph, definition, type AgentSubgraph } from '../src/server.js';
import type { NotificationPost } from '../src/service/notify.js';
import { seasonalAdvice } from '../src/service/seasons-advice.js';
import { SEASON_QUEUE } from '../src/service/seasons-follow.js';
import { nextSolarTerm, solarTermsOf } from '../src/service/seasons.js';

// Seasonal advice at the solar terms: who follows, what each follower gets (by constitution), and that a term's
// job messages each follower once and schedules the next term once.

const posted: NotificationPost[] = [];
const constitutions = new Map<string, string>();
let instance: AgentSubgraph;
let agent: Awaited<ReturnType<typeof startTestSubgraph>>;

beforeAll(async () => {
  const custom: SubgraphDefinition<AgentConfig> = {
    ...definition,
    create: (options) =>
      (instance = createAgentSubgraph({
        ...options,
        constitutionOf: async (userId) => constitutions.get(userId) ?? null,
        notify: async (post) => {
          posted.push(post);
          return 'POSTED';
        },
      })),
  };
  agent = await startTestSubgraph(custom as unknown as SubgraphDefinition, { env: { GATEWAY_URL: 'http://127.0.0.1:9/graphql' } });
}, 60_000);
afterAll(async () => {
  await agent?.close();
});

const FOLLOW = 'mutation($follow: Boolean!) { followSeasons(input: { follow: $follow }) { following since nextTerm { name startsAt } } }';
const termJobs = () =>
  agent.database.rows<{ at: string; state: string }>(sql`select data->>'at' as at, state::text from agent_jobs.job where name = ${SEASON_QUEUE} order by 1`);

describe('seasonal advice', () => {
  it('the next solar term is scheduled once at start, and public queries name the current and next terms', async () => {
    const next = nextSolarTerm(new Date());
    expect(await termJobs()).toEqual([{ at: next.at.toISOString(), state: 'created' }]);
    await instance.seasons.ensureScheduled();
    expect(await termJobs()).toHaveLength(1);
    const terms = await agent.gql<{ currentSolarTerm: { name: string }; nextSolarTerm: { name: string; startsAt: string; dateInChina: string } }>(
      '{ currentSolarTerm { name longitude } nextSolarTerm { name startsAt dateInChina } }',
    );
    expect(terms.data?.nextSolarTerm).toEqual({ name: next.name, startsAt: next.at.toISOString(), dateInChina: next.dateInChina });
  });

  it('followSeasons is idempotent and per caller; seasonalAdvice is tailored to the caller’s constitution', async () => {
    const user = { id: randomUUID() };
    constitutions.set(user.id, 'YANG_DEFICIENT');
    const followed = await agent.gql<{ followSeasons: { following: boolean; since: string } }>(FOLLOW, { follow: true }, user);
    const again = await agent.gql<{ followSeasons: { following: boolean; since: string } }>(FOLLOW, { follow: true }, user);
    expect(followed.data?.followSeasons.following).toBe(true);
    expect(again.data?.followSeasons.since).toBe(followed.data?.followSeasons.since);
    const advice = await agent.gql<{ seasonalAdvice: { title: string; body: string; constitution: { code: string } | null } }>(
      '{ seasonalAdvice { title body constitution { code } term { name } } }',
      {},
      user,
    );
    expect(advice.data?.seasonalAdvice.constitution).toEqual({ code: 'YANG_DEFICIENT' });
    expect(advice.data?.seasonalAdvice.body).toContain('你偏阳虚');
    // Someone who does not follow has no seasonal messages of their own.
    const stranger = await agent.gql<{ seasonFollowing: unknown; seasonalAdvice: unknown }>('{ seasonFollowing { following } seasonalAdvice { title } }', {}, { id: randomUUID() });
    expect(stranger.data).toEqual({ seasonFollowing: null, seasonalAdvice: null });
    expect((await agent.gql<{ followSeasons: { following: boolean } }>(FOLLOW, { follow: false }, user)).data?.followSeasons.following).toBe(false);
    expect((await agent.gql<{ seasonFollowing: unknown }>('{ seasonFollowing { following } }', {}, user)).data?.seasonFollowing).toBeNull();
  });

  it('advice differs by term and constitution, and falls back to the term’s line when the constitution is unknown', () => {
    const [xiaohan, , lichun] = solarTermsOf(2027);
    const winterYang = seasonalAdvice(xiaohan!, 'YANG_DEFICIENT');
    expect(winterYang.title).toBe('小寒到了 · 索儿的节气养生提醒');
    expect(winterYang.body).toContain('冬季畏寒');
    expect(seasonalAdvice(lichun!, 'YANG_DEFICIENT').body).toContain('春捂');
    expect(seasonalAdvice(xiaohan!, 'YIN_DEFICIENT').body).not.toBe(winterYang.body);
    expect(seasonalAdvice(xiaohan!, null)).toMatchObject({ constitution: null });
    expect(seasonalAdvice(xiaohan!, 'NOT_A_CODE').constitution).toBeNull();
  });

  it('a term’s job messages each follower once (a second run posts under the same keys) and schedules the next term once', async () => {
    const followers = [randomUUID(), randomUUID(), randomUUID()];
    constitutions.set(followers[0]!, 'QI_STAGNATION');
    for (const id of followers) await agent.gql(FOLLOW, { follow: true }, { id });
    const lichun = solarTermsOf(2027).find((t) => t.name === '立春')!;
    const job = { longitude: lichun.longitude, at: lichun.at.toISOString() };
    await instance.seasons.runTerm(job);
    await instance.seasons.runTerm(job);
    const mine = posted.filter((p) => followers.includes(p.userId));
    expect(mine).toHaveLength(6);
    expect(new Set(mine.map((p) => p.key)).size).toBe(3);
    expect(mine.every((p) => p.kind === 'SEASONAL_ADVICE' && p.title.startsWith('立春'))).toBe(true);
    expect(mine.find((p) => p.userId === followers[0])?.body).toContain('你偏气郁');
    const next = (await termJobs()).filter((j) => j.at === solarTermsOf(2027).find((t) => t.name === '雨水')!.at.toISOString());
    expect(next).toEqual([{ at: expect.any(String), state: 'created' }]);
  });
});

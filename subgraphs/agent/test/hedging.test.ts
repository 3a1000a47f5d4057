import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelEnv as sharedModelEnv, startFakeGateway, startFakeOpenAi, type FakeGateway, type FakeOpenAi } from './fakes.js';
import { sent, startAgent, type Agent } from './harness.js';

/**
 * Hedged model calls (LLM_HEDGE_DELAY_MS) against a local fake OpenAI-compatible
 * server whose latencies and failures are scripted call by call: which request
 * answered (the reply names the fake's call number), which ones the fake saw
 * abandoned, and what the model call counted — attempts, retries, hedges.
 */
let fake: FakeOpenAi;
let gateway: FakeGateway;
/** Hedging off (the default). */
let plain: Agent;
/** A hedge 500 ms into an attempt: long enough that a prompt answer never draws one, even on a loaded machine. */
let hedged: Agent;
/** Both requests of an attempt start together. */
let together: Agent;

const user = () => ({ id: randomUUID() });
// Attempts of 5 s, so that only the race decides which request answers; a breaker that never opens (its own test below).
const modelEnv = () => sharedModelEnv(fake, gateway, { LLM_TIMEOUT_MS: '5000', BREAKER_VOLUME: '10000' });

beforeAll(async () => {
  fake = await startFakeOpenAi();
  gateway = await startFakeGateway();
  [plain, hedged, together] = await Promise.all([
    startAgent({ env: modelEnv() }),
    startAgent({ env: { ...modelEnv(), LLM_HEDGE_DELAY_MS: '500' } }),
    startAgent({ env: { ...modelEnv(), LLM_HEDGE_DELAY_MS: '0' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([plain?.close(), hedged?.close(), together?.close()]);
  await fake?.close();
  await gateway?.close();
});

/** Runs `fn` and returns how many calls the fake model received meanwhile. */
async function modelCalls<T>(fn: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const before = fake.calls;
  const result = await fn();
  return { result, calls: fake.calls - before };
}

/** What `fn` added to the stats of `agent`'s model call. */
async function statsDelta<T>(agent: Agent, fn: () => Promise<T>) {
  const stats = agent.subgraph.modelCall!.stats;
  const before = { ...stats, hedges: { ...stats.hedges } };
  const result = await fn();
  return {
    result,
    attempts: stats.attempts - before.attempts,
    retries: stats.retries - before.retries,
    hedges: { won: stats.hedges.won - before.hedges.won, lost: stats.hedges.lost - before.hedges.lost, failed: stats.hedges.failed - before.hedges.failed },
  };
}

/** Waits (up to 2 s) until the fake has seen `count` more calls abandoned by their client than `before`; returns their numbers. */
async function abortsSeen(before: number, count: number) {
  const deadline = Date.now() + 2_000;
  while (fake.aborted.length - before < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return fake.aborted.slice(before);
}

/** suoke_agent_llm_hedges_total by outcome, from the agent's /metrics. */
async function hedgeSamples(agent: Agent) {
  const text = await (await fetch(new URL('/metrics', agent.url))).text();
  return Object.fromEntries([...text.matchAll(/^suoke_agent_llm_hedges_total\{([^}]*)\} (\S+)$/gm)].map(([, labels, v]) => [/outcome="(\w+)"/.exec(labels!)![1], Number(v)]));
}

describe('hedged model calls (LLM_HEDGE_DELAY_MS)', () => {
  it('race a second request against a slow first one: the fast answer is used and the slow request is aborted', async () => {
    const first = fake.calls + 1;
    // The first request would take 4 s (within the 5 s timeout); the hedge, sent after 500 ms, answers at once.
    fake.delayNext(4_000, 0);
    const abortedBefore = fake.aborted.length;
    const stats = hedged.subgraph.modelCall!.stats;
    const attemptsBefore = stats.attempts;
    const started = Date.now();
    const { result, calls } = await modelCalls(() => sent(hedged, user(), { agentId: 'xiaoai', text: `慢的第一个请求 ${randomUUID().slice(0, 8)}` }));
    expect(calls).toBe(2);
    expect(result.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
    expect(result.reply.text).toMatch(new RegExp(`^模型回答#${first + 1}：慢的第一个请求`));
    // Generous: the slow request alone would have taken 4 s.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await abortsSeen(abortedBefore, 1)).toEqual([first]);
    expect(stats.attempts - attemptsBefore).toBe(1);
    expect(stats.retries).toBe(0);
    expect(stats.hedges).toEqual({ won: 1, lost: 0, failed: 0 });
    expect(await hedgeSamples(hedged)).toEqual({ won: 1, lost: 0, failed: 0 });
  });

  it('send no hedge when the first request answers before the delay', async () => {
    const before = { ...hedged.subgraph.modelCall!.stats.hedges };
    const { result, calls } = await modelCalls(() => sent(hedged, user(), { agentId: 'soer', text: `很快的回答 ${randomUUID().slice(0, 8)}` }));
    expect(calls).toBe(1);
    expect(result.reply.degraded).toBe(false);
    expect(hedged.subgraph.modelCall!.stats.hedges).toEqual(before);
  });

  it('are off by default: one request per attempt, however slow', async () => {
    // No LLM_HEDGE_DELAY_MS: a second is twice the hedged agent's delay, within the 5 s timeout.
    fake.delayNext(1_000);
    const { result, calls } = await modelCalls(() => sent(plain, user(), { agentId: 'xiaoai', text: `不对冲的慢回答 ${randomUUID().slice(0, 8)}` }));
    expect(calls).toBe(1);
    expect(result.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
    expect(plain.subgraph.modelCall!.stats.hedges).toEqual({ won: 0, lost: 0, failed: 0 });
    expect(await hedgeSamples(plain)).toEqual({ won: 0, lost: 0, failed: 0 });
  });

  it('survive one request failing: the other answers, and the attempt is not retried', async () => {
    // Whichever request arrives first fails at once with a 503; the other answers 100 ms later.
    fake.failNext(1, 503);
    fake.delayNext(0, 100);
    const { result, attempts, retries, hedges } = await statsDelta(together, () =>
      modelCalls(() => sent(together, user(), { agentId: 'laoke', text: `一个失败一个成功 ${randomUUID().slice(0, 8)}` })),
    );
    expect(result.calls).toBe(2);
    expect(result.result.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
    expect([attempts, retries]).toEqual([1, 0]);
    // The hedge is the request that failed, or the one that answered.
    expect(hedges.won + hedges.failed).toBe(1);
    expect(hedges.lost).toBe(0);
  });

  it('fail the attempt when both requests fail, and then retry as without hedging', async () => {
    fake.failNext(2, 500);
    const { result, attempts, retries, hedges } = await statsDelta(together, () =>
      modelCalls(() => sent(together, user(), { agentId: 'xiaoke', text: `两个都失败 ${randomUUID().slice(0, 8)}` })),
    );
    // Two failed requests (one attempt), then a second attempt of two requests, both answering.
    expect(result.calls).toBe(4);
    expect([attempts, retries]).toEqual([2, 1]);
    expect(result.result.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
    expect(hedges.failed).toBe(1);
    expect(hedges.won + hedges.lost).toBe(1);
  });

  it('never hedge past a 4xx: the attempt ends at once, unretried, and the other request is aborted', async () => {
    // Whichever request arrives first is refused; the other would answer after 4 s.
    fake.failNext(1, 400);
    fake.delayNext(0, 4_000);
    const abortedBefore = fake.aborted.length;
    const started = Date.now();
    const { result, attempts, retries } = await statsDelta(together, () =>
      modelCalls(() => sent(together, user(), { agentId: 'xiaoai', text: `请求本身有问题 ${randomUUID().slice(0, 8)}` })),
    );
    expect(result.calls).toBe(2);
    expect(result.result.reply).toMatchObject({ provider: 'OFFLINE', degraded: true });
    expect([attempts, retries]).toEqual([1, 0]);
    // Generous: waiting for the other request would have taken 4 s.
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await abortsSeen(abortedBefore, 1)).toHaveLength(1);
  });

  it('do not trip the breaker with the requests they abort: one outcome per attempt', async () => {
    // One attempt per reply; the breaker opens on any failure once 2 attempts were made.
    const guarded = await startAgent({
      env: { ...modelEnv(), LLM_HEDGE_DELAY_MS: '0', LLM_MAX_ATTEMPTS: '1', BREAKER_VOLUME: '2', BREAKER_ERROR_PERCENT: '1', REPLY_CACHE_TTL_SECONDS: '0' },
    });
    try {
      const abortedBefore = fake.aborted.length;
      for (const n of [1, 2, 3, 4]) {
        // Of each pair, the first to arrive answers at once and the other would take 2 s: it is aborted.
        fake.delayNext(0, 2_000);
        const { result, calls } = await modelCalls(() => sent(guarded, user(), { agentId: 'soer', text: `对冲不应熔断 ${n}` }));
        expect(calls).toBe(2);
        expect(result.reply).toMatchObject({ provider: 'OPENAI_COMPATIBLE', degraded: false });
      }
      expect(await abortsSeen(abortedBefore, 4)).toHaveLength(4);
      const call = guarded.subgraph.modelCall!;
      expect(call.state).toBe('closed');
      expect(call.stats).toMatchObject({ attempts: 4, rejectedOpen: 0 });
      expect(call.stats.hedges.won + call.stats.hedges.lost).toBe(4);
      // The same breaker does open on a failed attempt (both requests failing): the check above could fail.
      fake.failNext(2, 500);
      expect((await modelCalls(() => sent(guarded, user(), { agentId: 'soer', text: '两个请求都失败' }))).result.reply.degraded).toBe(true);
      expect(call.state).toBe('open');
    } finally {
      await guarded.close();
    }
  });
});

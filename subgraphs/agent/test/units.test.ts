import { describe, expect, it } from 'vitest';
import { ConfigError, createLogger } from '@suoke/platform';
import { loadAgentConfig } from '../src/config.js';
import type { AgentRow } from '../src/db/schema.js';
import { offlineProvider } from '../src/providers/offline.js';
import { ProviderError, type ChatProvider } from '../src/providers/types.js';
import { analyse } from '../src/service/intents.js';
import type { KnowledgeSearch } from '../src/service/knowledge.js';
import { ReplyService } from '../src/service/replies.js';
import { MemoryReplyCache, normaliseQuestion, replyCacheKey } from '../src/service/reply-cache.js';
import { backoffDelay, hedge, isTransient, ResilientCall, type HedgeOutcome } from '../src/service/resilience.js';
import { SingleFlight } from '../src/service/single-flight.js';

const log = createLogger({ service: 'agent-test', level: 'silent' });

describe('normaliseQuestion and replyCacheKey', () => {
  it('treat spacing, case, full-width forms and trailing punctuation as the same question', () => {
    expect(normaliseQuestion('  气虚  吃什么？？ ')).toBe('气虚 吃什么');
    expect(normaliseQuestion('ＡＢＣ  Qi!')).toBe('abc qi');
    const key = (question: string, extra: Partial<Parameters<typeof replyCacheKey>[0]> = {}) =>
      replyCacheKey({ agentId: 'xiaoai', question, providerIdentity: 'offline', ...extra });
    expect(key('气虚吃什么？')).toBe(key(' 气虚吃什么 '));
    expect(key('气虚吃什么')).not.toBe(key('阳虚吃什么'));
    expect(key('气虚吃什么')).not.toBe(key('气虚吃什么', { agentId: 'laoke' }));
    expect(key('气虚吃什么')).not.toBe(key('气虚吃什么', { providerIdentity: 'openai-compatible:x:m' }));
    expect(key('气虚吃什么')).not.toBe(key('气虚吃什么', { history: [{ role: 'USER', text: '你好' }] }));
    expect(key('气虚吃什么')).toMatch(/^reply:v3:[\w-]{43}$/);
  });
});

describe('analyse', () => {
  it.each([
    ['黄芪有什么功效？', ['黄芪'], 'HERB'],
    ['最近总是觉得累，是不是气虚？', ['气虚'], 'SYMPTOM'],
    ['手脚冰凉，晚上睡不着', ['阳虚', '睡眠'], 'SLEEP'],
    ['气虚的人可以吃黄芪吗', ['黄芪', '气虚'], 'DIET'],
    ['足三里在哪里', ['足三里'], 'LEARN'],
    ['你好', [], 'GREETING'],
    ['我想预约问诊', ['预约问诊'], 'APPOINTMENT'],
  ])('%s → terms %j, intent %s', (question, terms, intent) => {
    const analysis = analyse(question);
    expect(analysis.terms).toEqual(terms);
    expect(analysis.intents.has(intent as never)).toBe(true);
  });

  it('gives at most three terms, what the question names first', () => {
    expect(analyse('气虚阳虚阴虚痰湿湿热都有').terms).toHaveLength(3);
    expect(analyse('手脚冰凉失眠口干，能吃枸杞吗').terms).toEqual(['枸杞', '阳虚', '阴虚']);
  });
});

describe('backoffDelay', () => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
  it('is a random delay up to base × 2^(retry − 1), capped', () => {
    expect(backoffDelay(1, policy, undefined, () => 0.999)).toBe(99);
    expect(backoffDelay(3, policy, undefined, () => 0.999)).toBe(399);
    expect(backoffDelay(10, policy, undefined, () => 0.999)).toBe(999);
    expect(backoffDelay(3, policy, undefined, () => 0)).toBe(0);
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(4, policy)));
    expect(delays.size).toBeGreaterThan(10);
    for (const delay of delays) expect(delay).toBeLessThan(800);
  });

  it('honours Retry-After up to the cap', () => {
    expect(backoffDelay(1, policy, 0.5, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, 30, () => 0)).toBe(1_000);
  });
});

describe('isTransient', () => {
  it('is true for network failures, timeouts, 429 and 5xx only', () => {
    expect(isTransient(new ProviderError('x', { transient: true }))).toBe(true);
    expect(isTransient(new ProviderError('x', { status: 400, transient: false }))).toBe(false);
    expect(isTransient(new Error('x'))).toBe(false);
  });
});

describe('ResilientCall', () => {
  const policy = { attempts: 4, timeoutMs: 1_000, baseDelayMs: 1, maxDelayMs: 2 };
  const breaker = { errorThresholdPercentage: 50, volumeThreshold: 1_000, windowMs: 10_000, resetTimeoutMs: 1_000 };

  it('retries transient failures until one succeeds, and stops at the first other failure', async () => {
    const call = new ResilientCall('unit', policy, breaker, log);
    let n = 0;
    await expect(call.call(async () => (++n < 3 ? Promise.reject(new ProviderError('503', { status: 503, transient: true })) : 'ok'))).resolves.toBe('ok');
    expect(n).toBe(3);
    n = 0;
    await expect(call.call(async () => (++n, Promise.reject(new ProviderError('400', { status: 400, transient: false }))))).rejects.toThrow('400');
    expect(n).toBe(1);
    n = 0;
    await expect(call.call(async () => (++n, Promise.reject(new ProviderError('503', { transient: true }))))).rejects.toThrow('503');
    expect(n).toBe(4);
    expect(call.stats).toEqual({ attempts: 8, retries: 5, rejectedOpen: 0, outOfTime: 0, hedges: { won: 0, lost: 0, failed: 0 } });
    call.shutdown();
  });

  it('aborts an attempt at its timeout through the signal', async () => {
    const call = new ResilientCall('unit', { ...policy, attempts: 1, timeoutMs: 50 }, breaker, log);
    const started = Date.now();
    await expect(
      call.call(
        (signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(new ProviderError('timed out', { transient: true, cause: signal.reason })));
          }),
      ),
    ).rejects.toThrow('timed out');
    expect(Date.now() - started).toBeLessThan(1_000);
    call.shutdown();
  });
});

describe('hedge', () => {
  const transient = (message: string, retryAfterSeconds?: number) =>
    new ProviderError(message, { status: 503, transient: true, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) });
  /** A request that settles as told, or rejects when its signal is aborted; the test sees each request's signal. */
  function requests() {
    const made: Array<{ signal: AbortSignal; resolve: (v: string) => void; reject: (e: unknown) => void }> = [];
    const call = (signal: AbortSignal) =>
      new Promise<string>((resolve, reject) => {
        made.push({ signal, resolve, reject });
        signal.addEventListener('abort', () => reject(transient('aborted')));
      });
    return { made, call };
  }
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

  it('sends no hedge when the first request fails before the delay: the attempt fails with that failure', async () => {
    const { made, call } = requests();
    const outcomes: HedgeOutcome[] = [];
    const attempt = hedge(call, new AbortController().signal, 10_000, (o) => outcomes.push(o));
    made[0]!.reject(transient('first failed'));
    await expect(attempt).rejects.toThrow('first failed');
    expect(made).toHaveLength(1);
    expect(outcomes).toEqual([]);
  });

  it('reports the failure that carries a Retry-After when both fail', async () => {
    const { made, call } = requests();
    const outcomes: HedgeOutcome[] = [];
    const attempt = hedge(call, new AbortController().signal, 0, (o) => outcomes.push(o));
    expect(made).toHaveLength(2);
    made[0]!.reject(transient('first', 2));
    made[1]!.reject(transient('second'));
    await expect(attempt).rejects.toMatchObject({ message: 'first', retryAfterSeconds: 2 });
    expect(outcomes).toEqual(['failed']);
  });

  it('is cut by the attempt’s signal: both requests are aborted, and a hedge not yet due is never sent', async () => {
    const both = requests();
    const timeout = new AbortController();
    const attempt = hedge(both.call, timeout.signal, 0, () => undefined);
    timeout.abort(new DOMException('timed out', 'TimeoutError'));
    await expect(attempt).rejects.toThrow('aborted');
    expect(both.made.map((r) => r.signal.reason?.name)).toEqual(['TimeoutError', 'TimeoutError']);

    const one = requests();
    const early = new AbortController();
    const cut = hedge(one.call, early.signal, 20, () => undefined);
    early.abort(new DOMException('timed out', 'TimeoutError'));
    await expect(cut).rejects.toThrow('aborted');
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(one.made).toHaveLength(1);
  });

  it('aborts the loser with an AbortError once the winner answers, and reports the hedge once', async () => {
    const { made, call } = requests();
    const outcomes: HedgeOutcome[] = [];
    const attempt = hedge(call, new AbortController().signal, 1, (o) => outcomes.push(o));
    await tick();
    expect(made).toHaveLength(2);
    made[0]!.resolve('first');
    await expect(attempt).resolves.toBe('first');
    expect(made[1]!.signal.reason?.name).toBe('AbortError');
    expect(made[0]!.signal.aborted).toBe(false);
    expect(outcomes).toEqual(['lost']);
  });
});

describe('ResilientCall with a deadline', () => {
  const breaker = { errorThresholdPercentage: 50, volumeThreshold: 1_000, windowMs: 10_000, resetTimeoutMs: 1_000 };
  const transient = () => new ProviderError('503', { status: 503, transient: true });

  it('starts no retry that could not begin before the deadline, and says so in its stats', async () => {
    // A clock the test moves: each failed attempt takes 400 ms, backoff sleeps advance it too.
    let now = 0;
    const call = new ResilientCall(
      'unit',
      { attempts: 10, timeoutMs: 5_000, baseDelayMs: 1, maxDelayMs: 2 },
      breaker,
      log,
      async (ms) => void (now += ms),
      () => now,
    );
    let n = 0;
    const attempt = async () => {
      n += 1;
      now += 400;
      throw transient();
    };
    await expect(call.call(attempt, { deadline: 1_000 })).rejects.toThrow('503');
    // Attempts at about 0, 400 and 800 ms; after the third (≈ 1200 ms) the deadline has passed: 3 of the 10 allowed.
    expect(n).toBe(3);
    expect(call.stats).toMatchObject({ attempts: 3, retries: 2, rejectedOpen: 0, outOfTime: 1 });
    // Without a deadline the same failures use every attempt.
    n = 0;
    await expect(call.call(attempt)).rejects.toThrow('503');
    expect(n).toBe(10);
    call.shutdown();
  });

  it('cuts an attempt to what is left of the deadline, not its own longer timeout', async () => {
    const call = new ResilientCall('unit', { attempts: 3, timeoutMs: 5_000, baseDelayMs: 1, maxDelayMs: 2 }, breaker, log);
    let n = 0;
    const hang = (signal: AbortSignal) =>
      new Promise<string>((_resolve, reject) => {
        n += 1;
        signal.addEventListener('abort', () => reject(new ProviderError('the model provider did not answer in time', { transient: true, cause: signal.reason })));
      });
    const started = Date.now();
    await expect(call.call(hang, { deadline: started + 100 })).rejects.toThrow('did not answer in time');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(1_000);
    // The first attempt used the whole budget; no retry was started after it.
    expect(n).toBe(1);
    expect(call.stats.outOfTime).toBe(1);
    // A deadline already past makes no call at all.
    await expect(call.call(hang, { deadline: Date.now() - 1 })).rejects.toThrow('deadline had passed');
    expect(n).toBe(1);
    call.shutdown();
  });
});

describe('ReplyService deadline', () => {
  const agent: AgentRow = { id: 'xiaoai', position: 1, name: '小艾', nameEn: 'XiaoAI', role: 'HEALTH_ASSISTANT', description: '健康助手', capabilities: [] };
  const knowledge: KnowledgeSearch = { search: async () => ({ reachable: true, hits: [] }) };

  function service(model: ChatProvider, deadlineMs?: number) {
    const resilience = new ResilientCall(
      'model-provider',
      { attempts: 3, timeoutMs: 20_000, baseDelayMs: 1, maxDelayMs: 2 },
      { errorThresholdPercentage: 50, volumeThreshold: 1_000, windowMs: 10_000, resetTimeoutMs: 1_000 },
      log,
    );
    const replies = new ReplyService({ primary: model, offline: offlineProvider(), resilience, knowledge, cache: new MemoryReplyCache(10), cacheTtlSeconds: 60, deadlineMs, log });
    return { replies, resilience };
  }

  it('answers with the offline responder, degraded, when the model cannot answer before the deadline', async () => {
    let calls = 0;
    const hanging: ChatProvider = {
      kind: 'OPENAI_COMPATIBLE',
      usesHistory: true,
      cacheIdentity: 'hanging',
      reply: (_request, signal) =>
        new Promise((_resolve, reject) => {
          calls += 1;
          signal.addEventListener('abort', () => reject(new ProviderError('the model provider did not answer in time', { transient: true })));
        }),
    };
    const { replies, resilience } = service(hanging, 150);
    const started = Date.now();
    const outcome = await replies.reply({ agent, question: '我总是觉得累', history: [] });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(outcome).toMatchObject({ provider: 'OFFLINE', degraded: true, cached: false });
    expect(outcome.text).toContain('离线模式');
    // One attempt used the budget (its own timeout is 20 s); the stand-in was not cached.
    expect(calls).toBe(1);
    expect(replies.stats).toMatchObject({ produced: 1, fallbacks: 1, cacheHits: 0 });
    await replies.reply({ agent, question: '我总是觉得累', history: [] });
    expect(calls).toBe(2);
    resilience.shutdown();
  });

  it('leaves a model that answers in time alone, and 0 turns the deadline off', async () => {
    const slow: ChatProvider = {
      kind: 'OPENAI_COMPATIBLE',
      usesHistory: true,
      cacheIdentity: 'slow',
      reply: (_request, signal) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => resolve('模型回答'), 200);
          signal.addEventListener('abort', () => (clearTimeout(timer), reject(new ProviderError('timeout', { transient: true }))));
        }),
    };
    for (const deadlineMs of [1_000, 0]) {
      const { replies, resilience } = service(slow, deadlineMs);
      await expect(replies.reply({ agent, question: '黄芪有什么功效', history: [] })).resolves.toMatchObject({ text: '模型回答', provider: 'OPENAI_COMPATIBLE', degraded: false });
      resilience.shutdown();
    }
    // 150 ms is too short for it.
    const { replies, resilience } = service(slow, 150);
    await expect(replies.reply({ agent, question: '黄芪有什么功效', history: [] })).resolves.toMatchObject({ provider: 'OFFLINE', degraded: true });
    resilience.shutdown();
  });
});

describe('SingleFlight', () => {
  it('shares work in flight by key, and forgets it once settled', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    const work = () => new Promise<number>((resolve) => setTimeout(() => resolve(++runs), 10));
    const results = await Promise.all([flights.run('a', work), flights.run('a', work), flights.run('b', work)]);
    expect(results.sort()).toEqual([1, 1, 2].sort());
    expect(flights.shared).toBe(1);
    expect(flights.inFlight).toBe(0);
    expect(await flights.run('a', work)).toBe(3);
  });

  it('shares a failure too', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    const work = async () => {
      runs += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw new Error('boom');
    };
    const outcomes = await Promise.allSettled([flights.run('k', work), flights.run('k', work)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(runs).toBe(1);
  });
});

describe('MemoryReplyCache', () => {
  it('expires entries after their TTL and drops the least recently used beyond its size', async () => {
    let now = 0;
    const cache = new MemoryReplyCache(2, () => now);
    const reply = (text: string) => ({ text, provider: 'OFFLINE' as const, citations: [] });
    await cache.set('a', reply('a'), 10);
    await cache.set('b', reply('b'), 10);
    await cache.get('a');
    await cache.set('c', reply('c'), 10);
    expect(await cache.get('b')).toBeUndefined();
    expect((await cache.get('a'))?.text).toBe('a');
    now = 10_001;
    expect(await cache.get('a')).toBeUndefined();
  });
});

describe('loadAgentConfig', () => {
  it('defaults to the offline responder, and to openai-compatible when LLM_BASE_URL is set', () => {
    expect(loadAgentConfig({}).LLM_PROVIDER).toBe('offline');
    expect(loadAgentConfig({ LLM_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_MODEL: 'qwen2.5' }).LLM_PROVIDER).toBe('openai-compatible');
    expect(loadAgentConfig({}).GATEWAY_URL).toBe('http://localhost:4000/graphql');
    // Within the gateway's default 10 s subgraph timeout.
    expect(loadAgentConfig({}).LLM_DEADLINE_MS).toBe(8_000);
    expect(loadAgentConfig({ LLM_DEADLINE_MS: '0' }).LLM_DEADLINE_MS).toBe(0);
  });

  it('leaves hedging off unless LLM_HEDGE_DELAY_MS is set, and refuses a delay no attempt lasts', () => {
    expect(loadAgentConfig({}).LLM_HEDGE_DELAY_MS).toBeUndefined();
    expect(loadAgentConfig({ LLM_HEDGE_DELAY_MS: '' }).LLM_HEDGE_DELAY_MS).toBeUndefined();
    expect(loadAgentConfig({ LLM_HEDGE_DELAY_MS: '0' }).LLM_HEDGE_DELAY_MS).toBe(0);
    expect(loadAgentConfig({ LLM_HEDGE_DELAY_MS: '1500' }).LLM_HEDGE_DELAY_MS).toBe(1_500);
    const problemsOf = (value: string) => {
      try {
        loadAgentConfig({ LLM_HEDGE_DELAY_MS: value });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problemsOf('-1')).toEqual([expect.stringMatching(/^LLM_HEDGE_DELAY_MS: .*\(received "-1"\)/)]);
    expect(problemsOf('soon')).toEqual([expect.stringMatching(/^LLM_HEDGE_DELAY_MS: .*\(received "soon"\)/)]);
    expect(problemsOf('20000')).toEqual([expect.stringMatching(/^LLM_HEDGE_DELAY_MS: must be below LLM_TIMEOUT_MS \(20000\)/)]);
  });

  it('reports every problem at once, never showing the API key', () => {
    let error: ConfigError | undefined;
    try {
      loadAgentConfig({ LLM_PROVIDER: 'openai-compatible', LLM_API_KEY: '', LLM_MAX_ATTEMPTS: '0' });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([expect.stringMatching(/^LLM_API_KEY: .*\(hidden\)/), expect.stringMatching(/^LLM_MAX_ATTEMPTS: /)]);
    try {
      loadAgentConfig({ LLM_PROVIDER: 'openai-compatible' });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error!.problems).toEqual([expect.stringMatching(/^LLM_BASE_URL: required/), expect.stringMatching(/^LLM_MODEL: required/)]);
  });
});

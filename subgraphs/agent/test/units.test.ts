import { describe, expect, it } from 'vitest';
import { ConfigError, createLogger } from '@suoke/platform';
import { loadAgentConfig } from '../src/config.js';
import { ProviderError } from '../src/providers/types.js';
import { analyse } from '../src/service/intents.js';
import { MemoryReplyCache, normaliseQuestion, replyCacheKey } from '../src/service/reply-cache.js';
import { backoffDelay, isTransient, ResilientCall } from '../src/service/resilience.js';
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
    expect(key('气虚吃什么')).toMatch(/^reply:v1:[\w-]{43}$/);
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
    expect(call.stats).toEqual({ attempts: 8, retries: 5, rejectedOpen: 0 });
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

import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { Breaker, BreakerOpenError, backoffDelay } from '../../src/resilience/index.js';

const log = createLogger({ service: 'breaker-test', level: 'silent', format: 'json' });
const policy = { errorThresholdPercentage: 50, volumeThreshold: 2, windowMs: 10_000, resetTimeoutMs: 60_000 };
const failing = () => Promise.reject(new Error('down'));

describe('Breaker', () => {
  it('opens on counted failures and then fails fast with BreakerOpenError, counting the refusals', async () => {
    const breaker = new Breaker('test', policy, log, () => true);
    expect(breaker.state).toBe('closed');
    await expect(breaker.fire(failing)).rejects.toThrow('down');
    await expect(breaker.fire(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    let called = false;
    await expect(breaker.fire(async () => (called = true))).rejects.toBeInstanceOf(BreakerOpenError);
    expect(called).toBe(false);
    expect(breaker.stats.rejectedOpen).toBe(1);
    breaker.shutdown();
  });

  it('does not count failures `counts` refuses', async () => {
    const breaker = new Breaker('test', policy, log, () => false);
    for (let i = 0; i < 5; i += 1) await expect(breaker.fire(failing)).rejects.toThrow('down');
    expect(breaker.state).toBe('closed');
    expect(await breaker.fire(async () => 42)).toBe(42);
    breaker.shutdown();
  });
});

describe('backoffDelay', () => {
  it('is full jitter under min(max, base × 2^(retry − 1)), and honours a Retry-After under the cap', () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1_000 };
    expect(backoffDelay(1, policy, undefined, () => 0.999)).toBe(99);
    expect(backoffDelay(5, policy, undefined, () => 0.999)).toBe(999);
    expect(backoffDelay(1, policy, 0.5, () => 0)).toBe(500);
    expect(backoffDelay(1, policy, 30, () => 0)).toBe(1_000);
  });
});

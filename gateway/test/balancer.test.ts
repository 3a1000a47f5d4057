import { afterEach, describe, expect, it, vi } from 'vitest';
import { Balancer, parseInstanceUrls, type Instance } from '../src/balancer.js';

const A = 'http://a:4002/graphql';
const B = 'http://b:4002/graphql';
const C = 'http://c:4002/graphql';

/** A random source that returns the given values in turn. */
function sequence(...values: number[]) {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const byUrl = (balancer: Balancer, url: string) => balancer.instances.find((i) => i.url === url)!;

afterEach(() => {
  vi.useRealTimers();
});

describe('Balancer: power of two choices', () => {
  it('of the two instances drawn, sends to the one with fewer outstanding requests', () => {
    // Draws (a, b), then (b, c), then (c, a): the less loaded of each pair wins, whichever came first.
    const balancer = new Balancer({ urls: [A, B, C], random: sequence(0, 0, 0.34, 0.5, 0.9, 0) });
    byUrl(balancer, A).outstanding = 5;
    byUrl(balancer, B).outstanding = 1;
    byUrl(balancer, C).outstanding = 3;
    expect(balancer.pick()!.url).toBe(B);
    expect(balancer.pick()!.url).toBe(B);
    expect(balancer.pick()!.url).toBe(C);
    // Each pick is counted until released.
    expect(byUrl(balancer, B).outstanding).toBe(3);
    expect(byUrl(balancer, C).outstanding).toBe(4);
  });

  it('never sends to the busiest of three while the others are idle, and spreads over the idle ones', () => {
    const balancer = new Balancer({ urls: [A, B, C] });
    byUrl(balancer, A).outstanding = 1_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < 3_000; i += 1) {
      const instance = balancer.pick()!;
      counts.set(instance.url, (counts.get(instance.url) ?? 0) + 1);
      balancer.release(instance, 'ok');
    }
    expect(counts.get(A)).toBeUndefined();
    expect(counts.get(B)).toBeGreaterThan(1_000);
    expect(counts.get(C)).toBeGreaterThan(1_000);
  });

  it('a retry avoids the instance that failed, and has nowhere to go with a single instance', () => {
    const two = new Balancer({ urls: [A, B] });
    const first = two.pick()!;
    for (let i = 0; i < 20; i += 1) expect(two.pick(first)!.url).not.toBe(first.url);
    const one = new Balancer({ urls: [A] });
    expect(one.pick(one.pick()!)).toBeUndefined();
  });
});

describe('Balancer: ejection and re-admission', () => {
  it('ejects an unreachable instance at once, re-probes it after the backoff, and readmits it when ready', async () => {
    vi.useFakeTimers();
    let ready = false;
    const probed: string[] = [];
    const changes: { url: string; admitted: boolean; forMs?: number }[] = [];
    const balancer = new Balancer({
      urls: [A, B],
      ejectBaseMs: 1_000,
      ejectMaxMs: 8_000,
      probe: async (instance: Instance) => {
        probed.push(instance.url);
        return ready;
      },
      onChange: (instance, change) => changes.push({ url: instance.url, admitted: change.admitted, forMs: change.forMs }),
    });
    const a = byUrl(balancer, A);
    a.outstanding += 1;
    balancer.release(a, 'unreachable');
    expect(a.ejected).toBe(true);
    expect(changes).toEqual([{ url: A, admitted: false, forMs: 1_000 }]);
    for (let i = 0; i < 50; i += 1) {
      const instance = balancer.pick()!;
      expect(instance.url).toBe(B);
      balancer.release(instance, 'ok');
    }

    // Not probed before its time; probed and found unready, it is out again for twice as long.
    await vi.advanceTimersByTimeAsync(999);
    expect(probed).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(probed).toEqual([A]);
    expect(a.ejected).toBe(true);
    expect(changes.at(-1)).toEqual({ url: A, admitted: false, forMs: 2_000 });

    ready = true;
    await vi.advanceTimersByTimeAsync(2_000);
    expect(probed).toEqual([A, A]);
    expect(a.ejected).toBe(false);
    expect(changes.at(-1)).toEqual({ url: A, admitted: true, forMs: undefined });
    const picked = new Set<string>();
    for (let i = 0; i < 50; i += 1) {
      const instance = balancer.pick()!;
      picked.add(instance.url);
      balancer.release(instance, 'ok');
    }
    expect(picked).toEqual(new Set([A, B]));
    balancer.close();
  });

  it('ejects after `failuresToEject` failures in a row; a success in between starts the count again', () => {
    const balancer = new Balancer({ urls: [A, B], failuresToEject: 3 });
    const a = byUrl(balancer, A);
    for (const outcome of ['failed', 'failed', 'ok', 'failed', 'failed'] as const) {
      a.outstanding += 1;
      balancer.release(a, outcome);
    }
    expect(a.ejected).toBe(false);
    a.outstanding += 1;
    balancer.release(a, 'failed');
    expect(a.ejected).toBe(true);
    balancer.close();
  });

  it('ejects an admitted instance whose readiness check fails', async () => {
    const balancer = new Balancer({ urls: [A, B], probe: async (instance) => instance.url === B });
    await balancer.checkReadiness();
    expect(byUrl(balancer, A).ejected).toBe(true);
    expect(byUrl(balancer, B).ejected).toBe(false);
    balancer.close();
  });

  it('caps the backoff at ejectMaxMs, and a successful request resets it', async () => {
    vi.useFakeTimers();
    const forMs: number[] = [];
    const balancer = new Balancer({
      urls: [A, B],
      ejectBaseMs: 100,
      ejectMaxMs: 300,
      probe: async () => false,
      onChange: (_i, change) => {
        if (!change.admitted) forMs.push(change.forMs!);
      },
    });
    const a = byUrl(balancer, A);
    balancer.eject(a, 'test');
    await vi.advanceTimersByTimeAsync(100 + 200 + 300 + 300);
    expect(forMs).toEqual([100, 200, 300, 300, 300]);
    // In panic mode or after a probe, an answer readmits it and forgets the history.
    a.outstanding += 1;
    balancer.release(a, 'ok');
    expect(a.ejected).toBe(false);
    balancer.eject(a, 'again');
    expect(forMs.at(-1)).toBe(100);
    balancer.close();
  });

  it('sends to ejected instances when every instance is ejected (panic mode) rather than to none', () => {
    const balancer = new Balancer({ urls: [A, B] });
    for (const instance of balancer.instances) balancer.eject(instance, 'test');
    expect(balancer.admitted()).toEqual([]);
    expect(balancer.pick()).toBeDefined();
    balancer.close();
  });
});

describe('parseInstanceUrls', () => {
  it('reads one URL or a comma-separated list, trimmed and without repeats', () => {
    expect(parseInstanceUrls(A, 'health')).toEqual([A]);
    expect(parseInstanceUrls(` ${A}, ${B},${A},`, 'health')).toEqual([A, B]);
  });

  it('names the subgraph and the entry that is not an absolute http(s) URL', () => {
    expect(() => parseInstanceUrls(`${A},b:4002/graphql`, 'health')).toThrow(/subgraph "health".*received "b:4002\/graphql"/);
    expect(() => parseInstanceUrls('ftp://a/graphql', 'health')).toThrow(/received "ftp:\/\/a\/graphql"/);
    expect(() => parseInstanceUrls(' , ', 'health')).toThrow(/routing URL is required/);
  });
});

import { readFileSync } from 'node:fs';
import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { addressKey, RATE_LIMIT_SPEC_URL, rateLimit, rateLimitCounters } from '../../src/rate-limit/index.js';

describe('addressKey', () => {
  it('groups an IPv6 address by its /64, in any spelling', () => {
    expect(addressKey('2001:db8:aa:bb::1')).toBe('2001:db8:aa:bb::/64');
    expect(addressKey('2001:0DB8:00aa:00bb:ffff:ffff:ffff:ffff')).toBe('2001:db8:aa:bb::/64');
    expect(addressKey('[2001:db8:aa:bb::1%eth0]')).toBe('2001:db8:aa:bb::/64');
    expect(addressKey('2001:db8:aa:bc::1')).not.toBe(addressKey('2001:db8:aa:bb::1'));
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:db8::1.2.3.4')).toBe('2001:db8:0:0::/64');
  });

  it('keeps IPv4 as it is, also IPv4-mapped IPv6', () => {
    expect(addressKey('198.51.100.7')).toBe('198.51.100.7');
    expect(addressKey('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(addressKey('::ffff:c633:6407')).toBe('198.51.100.7');
  });

  it('counts what is not an address as one shared key', () => {
    expect(addressKey('not-an-address')).toBe('invalid');
    expect(addressKey('x'.repeat(10_000))).toBe('invalid');
  });
});

describe('rateLimitCounters', () => {
  const rule = { limit: 20, duration: 60, by: 'address' as const, alsoPer: 'input.email', alsoPerLimit: 5 };

  it('keys by address whatever token the caller carries, and hashes the argument value', () => {
    const email = 'Someone.Private@Example.com';
    const counters = rateLimitCounters('Mutation.login', rule, { userId: 'u1', ip: '2001:db8:1:2::9' }, { input: { email } });
    expect(counters.map((c) => c.limit)).toEqual([20, 5]);
    expect(counters[0]!.key).toBe('Mutation.login:a:2001:db8:1:2::/64');
    expect(counters[1]!.key.startsWith('Mutation.login:a:2001:db8:1:2::/64:input.email:')).toBe(true);
    expect(counters[1]!.key.toLowerCase()).not.toContain('someone');
    expect(counters[1]!.key.length).toBeLessThan(100);
    // The same email in another case or with spaces is the same counter.
    const again = rateLimitCounters('Mutation.login', rule, { ip: '2001:db8:1:2::1' }, { input: { email: `  ${email.toUpperCase()} ` } });
    expect(again.map((c) => c.key)).toEqual(counters.map((c) => c.key));
    // Without `by: "address"`, a signed-in caller is counted per user.
    expect(rateLimitCounters('Query.me', { limit: 1, duration: 1 }, { userId: 'u1', ip: '1.2.3.4' }, {})[0]!.key).toBe('Query.me:u:u1');
  });

  it('refuses a value longer than an email can be, with BAD_USER_INPUT', () => {
    expect(() => rateLimitCounters('Mutation.login', rule, { ip: '1.2.3.4' }, { input: { email: `${'a'.repeat(250)}@x.io` } })).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    );
  });
});

describe('the rate-limit feature', () => {
  it('contributes the @rateLimit definition of rate-limit.graphql under its spec URL', () => {
    expect(rateLimit.name).toBe('rate-limit');
    expect(rateLimit.specUrl).toBe(RATE_LIMIT_SPEC_URL);
    const file = readFileSync(new URL('../../src/rate-limit/rate-limit.graphql', import.meta.url), 'utf8');
    expect(print(rateLimit.sdl!)).toBe(print(parse(file)));
  });
});

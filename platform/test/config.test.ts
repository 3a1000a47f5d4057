import { describe, expect, it } from 'vitest';
import { baseEnv, ConfigError, databaseEnv, DEV_JWT_SECRET, loadConfig } from '../src/config.js';

const env = baseEnv.extend(databaseEnv.shape);
const GOOD_SECRET = 'a-production-jwt-secret-of-sufficient-length-0123456789';
const GOOD_GATEWAY = 'gateway-shared-secret-0123456789';

function problemsOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('loadConfig', () => {
  it('applies defaults and coerces numbers from strings', () => {
    const config = loadConfig('svc', env, { MAX_BODY_BYTES: '2048' });
    expect(config.NODE_ENV).toBe('development');
    expect(config.MAX_BODY_BYTES).toBe(2048);
    expect(config.JWT_ISSUER).toBe('suoke-life');
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('reports every invalid variable at once, naming each and the value received', () => {
    const error = problemsOf(() => loadConfig('svc', env, { LOG_LEVEL: 'loud', MAX_BODY_BYTES: 'lots' }));
    expect(error.problems).toHaveLength(2);
    expect(error.problems.some((p) => p.startsWith('LOG_LEVEL') && p.includes('"loud"'))).toBe(true);
    expect(error.problems.some((p) => p.startsWith('MAX_BODY_BYTES') && p.includes('"lots"'))).toBe(true);
    expect(error.message).toContain('svc: invalid configuration');
    expect(error.message).toContain('LOG_LEVEL');
    expect(error.message).toContain('MAX_BODY_BYTES');
  });

  it('adds the problems of a cross-variable check', () => {
    const error = problemsOf(() => loadConfig('svc', env, {}, () => ['A: needs B', 'C: needs D']));
    expect(error.problems).toEqual(['A: needs B', 'C: needs D']);
  });

  it('never echoes the value of a secret variable', () => {
    const jwt = 'short-jwt-secret-zz9';
    const gateway = 'gw-secret-qq7';
    const error = problemsOf(() => loadConfig('svc', env, { JWT_SECRET: jwt, GATEWAY_SECRET: gateway }));
    expect(error.problems).toHaveLength(2);
    expect(error.message).toContain('JWT_SECRET');
    expect(error.message).toContain('GATEWAY_SECRET');
    expect(error.message).toContain('(hidden)');
    expect(error.message).not.toContain(jwt);
    expect(error.message).not.toContain(gateway);
  });

  it('never echoes credentials embedded in an invalid URL variable', () => {
    // A typo in DATABASE_URL must not print the database password to stderr / logs.
    const password = 'Pg-Passw0rd-4711';
    const error = problemsOf(() => loadConfig('svc', env, { DATABASE_URL: `postgres://app:${password}@db host:5432/suoke` }));
    expect(error.message).toContain('DATABASE_URL');
    expect(error.message).not.toContain(password);
  });

  describe('NODE_ENV=production', () => {
    it('refuses a missing GATEWAY_SECRET', () => {
      const error = problemsOf(() => loadConfig('svc', env, { NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET }));
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^GATEWAY_SECRET/);
    });

    it('refuses a missing JWT secret (and lists it together with the missing gateway secret)', () => {
      const error = problemsOf(() => loadConfig('svc', env, { NODE_ENV: 'production' }));
      expect(error.problems).toHaveLength(2);
      expect(error.problems.some((p) => p.startsWith('JWT_SECRET or JWT_JWKS_URL'))).toBe(true);
      expect(error.problems.some((p) => p.startsWith('GATEWAY_SECRET'))).toBe(true);
    });

    it('refuses the development JWT secret without echoing it', () => {
      const error = problemsOf(() => loadConfig('svc', env, { NODE_ENV: 'production', JWT_SECRET: DEV_JWT_SECRET, GATEWAY_SECRET: GOOD_GATEWAY }));
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^JWT_SECRET: the development secret/);
      expect(error.message).not.toContain(DEV_JWT_SECRET);
    });

    it('accepts a JWKS URL instead of a secret', () => {
      const config = loadConfig('svc', env, { NODE_ENV: 'production', JWT_JWKS_URL: 'https://auth.example.com/jwks.json', GATEWAY_SECRET: GOOD_GATEWAY });
      expect(config.JWT_JWKS_URL).toBe('https://auth.example.com/jwks.json');
    });

    it('refuses RATE_LIMITS=off, listing it with the other problems', () => {
      const error = problemsOf(() => loadConfig('svc', env, { NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, RATE_LIMITS: 'off' }));
      expect(error.problems).toHaveLength(2);
      expect(error.problems.some((p) => p.startsWith('RATE_LIMITS: off is refused'))).toBe(true);
      expect(error.problems.some((p) => p.startsWith('GATEWAY_SECRET'))).toBe(true);
      expect(() => loadConfig('svc', env, { NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, GATEWAY_SECRET: GOOD_GATEWAY, RATE_LIMITS: 'on' })).not.toThrow();
      expect(() => loadConfig('svc', env, { NODE_ENV: 'development', RATE_LIMITS: 'off' })).not.toThrow();
    });

    it('accepts a complete production environment', () => {
      const config = loadConfig('svc', env, { NODE_ENV: 'production', JWT_SECRET: GOOD_SECRET, GATEWAY_SECRET: GOOD_GATEWAY });
      expect(config.NODE_ENV).toBe('production');
    });
  });

  it('does not apply the production rules outside production', () => {
    expect(() => loadConfig('svc', env, { NODE_ENV: 'development', JWT_SECRET: DEV_JWT_SECRET })).not.toThrow();
  });
});

import { describe, expect, it } from 'vitest';
import { baseEnv, ConfigError, databaseEnv, loadConfig } from '../src/config.js';
import { generateSigningJwk, publicJwks, signingEnv, signingProblems, trustedServices } from '../src/auth/index.js';

const env = baseEnv.extend(databaseEnv.shape);
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
    const gateway = 'gw-secret-qq7';
    const error = problemsOf(() => loadConfig('svc', env, { GATEWAY_SECRET: gateway }));
    expect(error.message).toContain('GATEWAY_SECRET');
    expect(error.message).toContain('(hidden)');
    expect(error.message).not.toContain(gateway);
  });

  it('never echoes private key material it cannot use', () => {
    const secret = 'nO7-pr1vate-mat3rial-xx';
    const signing = baseEnv.extend(signingEnv.shape);
    const bad = JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x: 'AAAA', d: secret, kid: 'k1' });
    const error = problemsOf(() => loadConfig('svc', signing, { JWT_SIGNING_KEYS: bad }, (c) => signingProblems('svc', c)));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatch(/^JWT_SIGNING_KEYS: /);
    expect(error.message).not.toContain(secret);
    const unknownKid = problemsOf(() =>
      loadConfig('svc', signing, { JWT_SIGNING_KEYS: JSON.stringify({ keys: [generateSigningJwk()] }), JWT_SIGNING_KID: 'nope' }, (c) => signingProblems('svc', c)),
    );
    expect(unknownKid.problems[0]).toMatch(/JWT_SIGNING_KID nope is not in the key set/);
  });

  it('refuses trust settings that would hand a verifier private keys, or that do not parse', () => {
    const privateJwks = JSON.stringify({ keys: [generateSigningJwk()] });
    const error = problemsOf(() =>
      loadConfig('svc', env, { JWT_JWKS: privateJwks, TRUSTED_SERVICES: '{"agent":{"jwks":"ftp://x","scopes":[]}}', SERVICE_TOKEN_AUDIENCE: 'suoke-app' }),
    );
    expect(error.problems).toHaveLength(3);
    expect(error.problems.some((p) => p.startsWith('JWT_JWKS: ') && p.includes('private material'))).toBe(true);
    expect(error.problems.some((p) => p.startsWith('TRUSTED_SERVICES: agent.jwks'))).toBe(true);
    expect(error.problems.some((p) => p.startsWith('SERVICE_TOKEN_AUDIENCE: must differ'))).toBe(true);
    expect(error.message).not.toContain(JSON.parse(privateJwks).keys[0].d);
  });

  it('never echoes credentials embedded in an invalid URL variable', () => {
    // A typo in DATABASE_URL must not print the database password to stderr / logs.
    const password = 'Pg-Passw0rd-4711';
    const error = problemsOf(() => loadConfig('svc', env, { DATABASE_URL: `postgres://app:${password}@db host:5432/suoke` }));
    expect(error.message).toContain('DATABASE_URL');
    expect(error.message).not.toContain(password);
  });

  describe('NODE_ENV=production', () => {
    const JWKS_URL = 'https://user.internal/.well-known/jwks.json';
    it('refuses a missing GATEWAY_SECRET', () => {
      const error = problemsOf(() => loadConfig('svc', env, { NODE_ENV: 'production', JWT_JWKS_URL: JWKS_URL }));
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toMatch(/^GATEWAY_SECRET/);
    });

    it("refuses to start without the user subgraph's public keys (and lists it together with the missing gateway secret)", () => {
      const error = problemsOf(() => loadConfig('svc', env, { NODE_ENV: 'production' }));
      expect(error.problems).toHaveLength(2);
      expect(error.problems.some((p) => p.startsWith('JWT_JWKS_URL or JWT_JWKS'))).toBe(true);
      expect(error.problems.some((p) => p.startsWith('GATEWAY_SECRET'))).toBe(true);
    });

    it('refuses a signing service without its private keys', () => {
      const signing = baseEnv.extend(signingEnv.shape);
      const error = problemsOf(() =>
        loadConfig('svc', signing, { NODE_ENV: 'production', JWT_JWKS_URL: JWKS_URL, GATEWAY_SECRET: GOOD_GATEWAY }, (c) => signingProblems('svc', c)),
      );
      expect(error.problems).toEqual([expect.stringMatching(/^JWT_SIGNING_KEYS: required when NODE_ENV=production/)]);
    });

    it('accepts the public keys inline instead of a URL, and trusts no service unless told', () => {
      const jwks = JSON.stringify(publicJwks([generateSigningJwk()]));
      const config = loadConfig('svc', env, { NODE_ENV: 'production', JWT_JWKS: jwks, GATEWAY_SECRET: GOOD_GATEWAY });
      expect(config.JWT_JWKS).toBe(jwks);
      expect(trustedServices(config)).toEqual({});
    });

    it('refuses RATE_LIMITS=off, listing it with the other problems', () => {
      const error = problemsOf(() => loadConfig('svc', env, { NODE_ENV: 'production', JWT_JWKS_URL: JWKS_URL, RATE_LIMITS: 'off' }));
      expect(error.problems).toHaveLength(2);
      expect(error.problems.some((p) => p.startsWith('RATE_LIMITS: off is refused'))).toBe(true);
      expect(error.problems.some((p) => p.startsWith('GATEWAY_SECRET'))).toBe(true);
      expect(() => loadConfig('svc', env, { NODE_ENV: 'production', JWT_JWKS_URL: JWKS_URL, GATEWAY_SECRET: GOOD_GATEWAY, RATE_LIMITS: 'on' })).not.toThrow();
      expect(() => loadConfig('svc', env, { NODE_ENV: 'development', RATE_LIMITS: 'off' })).not.toThrow();
      // Only the benchmarks' own switch lets it start (bench/ compares limits on and off in production mode).
      const full = { NODE_ENV: 'production', JWT_JWKS_URL: JWKS_URL, GATEWAY_SECRET: GOOD_GATEWAY, RATE_LIMITS: 'off' };
      expect(() => loadConfig('svc', env, full)).toThrow(/RATE_LIMITS: off is refused/);
      expect(() => loadConfig('svc', env, { ...full, BENCHMARK_RATE_LIMITS_OFF: 'yes' })).toThrow(/BENCHMARK_RATE_LIMITS_OFF/);
      expect(() => loadConfig('svc', env, { ...full, BENCHMARK_RATE_LIMITS_OFF: 'allow' })).not.toThrow();
    });

    it('accepts a complete production environment', () => {
      const config = loadConfig('svc', env, { NODE_ENV: 'production', JWT_JWKS_URL: JWKS_URL, GATEWAY_SECRET: GOOD_GATEWAY });
      expect(config.NODE_ENV).toBe('production');
      expect(config.SERVICE_TOKEN_AUDIENCE).toBe('suoke-services');
    });
  });

  it('does not apply the production rules outside production', () => {
    expect(() => loadConfig('svc', env, { NODE_ENV: 'development' })).not.toThrow();
  });
});

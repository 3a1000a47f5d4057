import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './harness.js';

// The compiled entry points (npm test builds first), run as an operator would.
function run(entry: string, env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(JWT_|GATEWAY_|DATABASE_|REDIS_|PORT$|NODE_ENV$)/.test(key)));
  return spawnSync(process.execPath, [path.join(repoRoot, entry)], { env: { ...clean, ...env }, encoding: 'utf8', timeout: 20_000 });
}

describe('configuration at start', () => {
  it('lists every problem at once and exits 1 without a stack', () => {
    const result = run('subgraphs/user/dist/index.js', { PORT: 'not-a-port', DATABASE_URL: 'nonsense', ACCESS_TOKEN_TTL_SECONDS: '5' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('PORT');
    expect(result.stderr).toContain('DATABASE_URL');
    expect(result.stderr).toContain('ACCESS_TOKEN_TTL_SECONDS');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("refuses production without secrets, without the user subgraph's public keys, or a signer without its keys", () => {
    const missing = run('gateway/dist/index.js', { NODE_ENV: 'production', GATEWAY_PORT: '0' });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('GATEWAY_SECRET');
    expect(missing.stderr).toMatch(/JWT_JWKS_URL or JWT_JWKS/);
    const user = run('subgraphs/user/dist/index.js', {
      NODE_ENV: 'production',
      PORT: '0',
      GATEWAY_SECRET: 'a-long-enough-gateway-secret',
      JWT_JWKS_URL: 'http://127.0.0.1:1/.well-known/jwks.json',
    });
    expect(user.status).toBe(1);
    expect(user.stderr).toMatch(/JWT_SIGNING_KEYS: required when NODE_ENV=production/);
  });
});

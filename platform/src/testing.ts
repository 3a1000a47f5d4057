import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { signAccessToken } from './auth.js';
import { baseEnv, DEV_JWT_SECRET } from './config.js';
import { createDatabase, type Database } from './db.js';

/**
 * Test helpers. Each test file gets a fresh database: with DATABASE_URL a new
 * PostgreSQL database created for it (and dropped after), otherwise an
 * in-memory PGlite. Nothing is shared between files.
 */
export interface TestDatabase {
  database: Database;
  /** The URL of the fresh database, when running on real PostgreSQL. */
  url?: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(service: string, extensions?: Record<string, unknown>): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const database = await createDatabase({ service, pgliteDataDir: 'memory://', ...(extensions ? { pgliteExtensions: extensions } : {}) });
    return { database, drop: () => database.close() };
  }
  const name = `suoke_t_${service}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await createDatabase({ service, url: url.toString(), poolMax: 5 });
  return {
    database,
    url: url.toString(),
    async drop() {
      await database.close();
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await cleanup.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}

/** The JWT settings services use when the environment sets none (development and tests). */
export const testJwt = (() => {
  const defaults = baseEnv.parse({});
  return { secret: DEV_JWT_SECRET, issuer: defaults.JWT_ISSUER, audience: defaults.JWT_AUDIENCE };
})();

/** Signs an access token as the user subgraph would; `ttlSeconds` may be negative for an expired token. */
export function testToken(user: { id: string; roles?: string[] }, options: { ttlSeconds?: number; secret?: string } = {}): Promise<string> {
  return signAccessToken(
    { id: user.id, roles: user.roles ?? ['USER'] },
    { ...testJwt, secret: options.secret ?? testJwt.secret, ttlSeconds: options.ttlSeconds ?? 300 },
  );
}

/** The shared secret test subgraphs are configured with when a test calls them as the gateway would. */
export const TEST_GATEWAY_SECRET = 'test-gateway-secret-0123456789';

/**
 * Headers of a call from the gateway: the secret, and a client address of the
 * IPv6 documentation prefix (a new one per call unless `ip` is given), so that
 * tests of other behaviour do not trip per-IP limits such as sign-up's.
 */
export function gatewayHeaders(ip?: string): Record<string, string> {
  const part = () => Math.floor(Math.random() * 0xffff).toString(16);
  return { 'x-gateway-secret': TEST_GATEWAY_SECRET, 'x-suoke-client-ip': ip ?? `2001:db8:${part()}:${part()}::${part()}` };
}

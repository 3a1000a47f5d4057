import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Database } from '../src/db.js';
import { createJobEngine } from '../src/jobs/index.js';
import { createLogger } from '../src/logger.js';
import { createTestDatabase, type TestDatabase } from '../src/testing.js';

// As deployed (deploy/postgres/subgraph-roles.psql): the subgraph's role owns its job schema and may create no
// schema. pg-boss's own install would fail there (`CREATE SCHEMA IF NOT EXISTS` needs CREATE on the database).
// PostgreSQL only: PGlite has no roles.

const log = createLogger({ service: 'jobs-role', level: 'silent', format: 'json', nodeEnv: 'test' });
const role = `suoke_jobs_${randomBytes(4).toString('hex')}`;
let testDb: TestDatabase;
let admin: ReturnType<typeof postgres>;
let asRole: Database | undefined;

describe.runIf(process.env.DATABASE_URL)('the job engine under a role that owns its schema and may create none', () => {
  beforeAll(async () => {
    testDb = await createTestDatabase('jobsrole');
    admin = postgres(testDb.url!, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create role ${role} login nocreatedb nocreaterole`);
    await admin.unsafe(`revoke create on database "${new URL(testDb.url!).pathname.slice(1)}" from public`);
    await admin.unsafe(`create schema role_jobs authorization ${role}`);
    const url = new URL(testDb.url!);
    url.username = role;
    asRole = await createDatabase({ service: 'jobs-role', url: url.toString(), poolMax: 2 });
  });
  afterAll(async () => {
    await asRole?.close();
    await admin?.unsafe(`drop schema if exists role_jobs cascade`).catch(() => undefined);
    await admin?.unsafe(`drop owned by ${role}; drop role if exists ${role}`).catch(() => undefined);
    await admin?.end();
    await testDb?.drop();
  });

  it('installs, runs a job, and starts again', async () => {
    const [{ allowed }] = await asRole!.rows<{ allowed: boolean }>(
      (await import('drizzle-orm')).sql`select has_database_privilege(current_database(), 'CREATE') as allowed`,
    );
    expect(allowed).toBe(false);
    for (let round = 0; round < 2; round += 1) {
      const engine = createJobEngine({ database: asRole!, schema: 'role_jobs', log, pollIntervalMs: 500 });
      let ran = false;
      engine.define({ name: 'probe', handler: async () => void (ran = true) });
      await engine.start();
      await engine.send('probe', {});
      for (let i = 0; i < 100 && !ran; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      await engine.stop(1_000);
      expect(ran, `round ${round}`).toBe(true);
    }
  }, 60_000);
});

#!/usr/bin/env node
// Fails loudly when DATABASE_URL / REDIS_URL are set but do not answer (used by .ci/run).
import postgres from 'postgres';
import { Redis } from 'ioredis';

const problems = [];
if (process.env.DATABASE_URL) {
  const sql = postgres(process.env.DATABASE_URL, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const [row] = await sql`select current_setting('server_version') as version`;
    console.log(`PostgreSQL answers (${row.version})`);
  } catch (error) {
    problems.push(`PostgreSQL at DATABASE_URL does not answer: ${error.message}`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}
if (process.env.REDIS_URL) {
  const redis = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000, retryStrategy: () => null });
  try {
    await redis.connect();
    console.log(`Redis answers (${await redis.ping()})`);
  } catch (error) {
    problems.push(`Redis at REDIS_URL does not answer: ${error.message}`);
  } finally {
    redis.disconnect();
  }
}
if (problems.length > 0) {
  for (const problem of problems) console.error(`ERROR: ${problem}`);
  process.exit(1);
}

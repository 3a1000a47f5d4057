// A stack of real processes in production mode: its database (PostgreSQL or PGlite, migrated and seeded),
// the five subgraphs, and the gateway in front of them.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { migrateAll, seedAll } from '../../scripts/services.mjs';
import { readSupergraphConfig } from '../../scripts/supergraph-config.mjs';
import { GATEWAY_SECRET, KEYS, MEDIA_URL_SECRET, REFRESH_TOKEN_SECRET, TRUST_ENV } from './keys.mjs';
import { freePort, log, spawnService, stopChild, waitReady } from './process.mjs';

/**
 * Seeded accounts share one created_at, so ids decide their order: the admin, the one account
 * seeded without health, diagnosis or agent data, goes first, so that "the last seeded users"
 * (which scenarios use as users with data in every subgraph) never include it.
 */
const USERS_ORDER = `email = 'admin@suoke.life' desc, created_at, id`;

/**
 * A database for one stack: a fresh PostgreSQL database when DATABASE_URL is
 * set, else a PGlite folder; migrated and seeded with `users` extra accounts,
 * each with `days` of observations (default: the seed's week).
 */
export async function prepareData({ users, days }) {
  const env = { ...process.env, NODE_ENV: 'development', SEED_USERS: String(users), LOG_LEVEL: 'warn' };
  if (days !== undefined) env.SEED_DAYS = String(days);
  else delete env.SEED_DAYS;
  let databaseUrl;
  let pgliteDir;
  if (process.env.DATABASE_URL) {
    const name = `suoke_bench_${randomBytes(4).toString('hex')}`;
    const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    await admin.end();
    const url = new URL(process.env.DATABASE_URL);
    url.pathname = `/${name}`;
    databaseUrl = url.toString();
    env.DATABASE_URL = databaseUrl;
  } else {
    pgliteDir = mkdtempSync(path.join(os.tmpdir(), 'suoke-bench-'));
    env.PGLITE_DATA_DIR = pgliteDir;
    delete env.DATABASE_URL;
  }
  const seedStart = Date.now();
  await migrateAll(log, env);
  await seedAll(log, env);
  log(`data: ${users} users × ${days ?? 7} days migrated and seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
  return {
    databaseUrl,
    pgliteDir,
    async userIds() {
      if (databaseUrl) {
        const sql = postgres(databaseUrl, { max: 1 });
        const rows = await sql`select id from "user".users order by ${sql.unsafe(USERS_ORDER)}`;
        await sql.end();
        return rows.map((r) => r.id);
      }
      const { openDatabase } = await import('../../scripts/services.mjs');
      const database = await openDatabase('user', env);
      const { sql } = await import('drizzle-orm');
      const rows = await database.rows(sql.raw(`select id::text as id from "user".users order by ${USERS_ORDER}`));
      await database.close();
      return rows.map((r) => r.id);
    },
    async drop() {
      if (!databaseUrl) return;
      const admin = postgres(process.env.DATABASE_URL, { max: 1, onnotice: () => {} });
      await admin.unsafe(`drop database if exists "${new URL(databaseUrl).pathname.slice(1)}" with (force)`);
      await admin.end();
    },
  };
}

/** Production serves /metrics only with a token (or on METRICS_PORT); scenarios that scrape send these headers. */
export const METRICS_TOKEN = 'bench-only-metrics-token-0123456789abcdef';
export const metricsHeaders = { authorization: `Bearer ${METRICS_TOKEN}` };

/**
 * The five subgraphs as separate processes, production mode, on free ports;
 * `gatewayPort` is where the subgraphs that call back through the gateway find it.
 */
export async function startSubgraphs({ data, env: extra = {}, label, gatewayPort }) {
  const { subgraphs } = readSupergraphConfig();
  const base = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
    ...TRUST_ENV,
    GATEWAY_SECRET,
    REFRESH_TOKEN_SECRET,
    MEDIA_URL_SECRET,
    METRICS_TOKEN,
    // The scenarios compare limits on and off on the production path (refused there without this).
    BENCHMARK_RATE_LIMITS_OFF: 'allow',
    GATEWAY_URL: `http://127.0.0.1:${gatewayPort}/graphql`,
    ...(data.databaseUrl ? { DATABASE_URL: data.databaseUrl } : {}),
    // Gateways started from this environment record field usage into the bench's database (their
    // schema gateway_usage, adding up like replicas). On PGlite they would all open one embedded
    // folder at once, which PGlite cannot share: recording is off there unless a scenario says otherwise.
    ...(data.databaseUrl ? {} : { USAGE_RECORDING: 'off' }),
    ...extra,
  };
  const processes = {};
  const urls = {};
  /** Each subgraph's whole environment, to start another replica of it (port and data folder aside). */
  const envs = {};
  try {
    for (const subgraph of subgraphs) {
      const port = await freePort();
      const env = { ...base, PORT: String(port), ...(KEYS[subgraph.name] ? { JWT_SIGNING_KEYS: KEYS[subgraph.name].privateJwks } : {}) };
      if (data.pgliteDir) env.PGLITE_DATA_DIR = path.join(data.pgliteDir, subgraph.name);
      envs[subgraph.name] = env;
      processes[subgraph.name] = spawnService(`${label}/${subgraph.name}`, `subgraphs/${subgraph.name}/dist/index.js`, env);
      urls[subgraph.name] = `http://127.0.0.1:${port}`;
      await waitReady(urls[subgraph.name]);
    }
  } catch (error) {
    await Promise.all(Object.values(processes).map((child) => stopChild(child)));
    throw error;
  }
  return { base, envs, processes, urls, stop: () => Promise.all(Object.values(processes).map((child) => stopChild(child))) };
}

/** Subgraphs and gateway as separate processes, production mode, on free ports. */
export async function startStack({ data, env: extra = {}, label }) {
  // Chosen first, so that subgraphs calling back through the gateway (the agent's knowledge search) know where it is.
  const gatewayPort = await freePort();
  const { base, processes, urls } = await startSubgraphs({ data, env: extra, label, gatewayPort });
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  try {
    const overrides = Object.fromEntries(Object.entries(urls).map(([name, url]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, `${url}/graphql`]));
    processes.gateway = spawnService(`${label}/gateway`, 'gateway/dist/index.js', { ...base, ...overrides, GATEWAY_PORT: String(gatewayPort) });
    await waitReady(gatewayUrl);
  } catch (error) {
    // A stack that did not start leaves no processes behind.
    await Promise.all(Object.values(processes).map((child) => stopChild(child)));
    throw error;
  }
  return {
    label,
    gatewayUrl: `${gatewayUrl}/graphql`,
    subgraphUrls: Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, `${url}/graphql`])),
    processes,
    async stop() {
      await Promise.all(Object.values(processes).map((child) => stopChild(child)));
    },
  };
}

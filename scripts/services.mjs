// How the dev runner, `npm run migrate` and `npm run seed` reach each subgraph's
// compiled code and database. Subgraphs never import each other; only these
// scripts see them all.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { readSupergraphConfig, repoRoot } from './supergraph-config.mjs';

/**
 * Node options every service process runs with: the dev runner and the bench
 * pass them on the command line, the images set them as NODE_OPTIONS
 * (tests/deploy.test.ts keeps the Dockerfiles in step).
 *
 * `--max-semi-space-size=32` (MiB; Node 20's default is 16): a GraphQL request
 * allocates a lot that dies young, and under load a young generation of 16 MiB
 * is scavenged so often that request objects still in flight are copied, then
 * promoted. At 32 the gateway and subgraphs spent ~5 % less CPU per home query
 * (bench/RESULTS.md, Tuning); 64 saved a little more but adds another 64 MiB of
 * heap per process, which the gateway's memory target (a half of Hive
 * Gateway's peak RSS) cannot spare. V8 sizes the young generation when the
 * heap is created, so this cannot be set from inside the process.
 */
export const SERVICE_NODE_OPTIONS = ['--max-semi-space-size=32'];

export async function platform() {
  return import(pathToFileURL(path.join(repoRoot, 'platform/dist/index.js')).href);
}

export async function subgraphModule(name, entry = 'server') {
  return import(pathToFileURL(path.join(repoRoot, 'subgraphs', name, 'dist', `${entry}.js`)).href);
}

/** The folder of a subgraph's embedded database: `<PGLITE_DATA_DIR or .data>/<name>`. */
export function pgliteDir(name, env = process.env) {
  return path.join(env.PGLITE_DATA_DIR ?? path.join(repoRoot, '.data'), name);
}

/** Opens the subgraph's database as its own process would (DATABASE_URL, or PGlite under .data/<name>). */
export async function openDatabase(name, env = process.env) {
  const { openSubgraphDatabase } = await platform();
  const { definition } = await subgraphModule(name);
  const config = definition.loadConfig({ ...env, PGLITE_DATA_DIR: pgliteDir(name, env) });
  return openSubgraphDatabase(definition, config, 2);
}

export function subgraphNames() {
  return readSupergraphConfig().subgraphs.map((s) => s.name);
}

/** Applies every subgraph's committed migrations. */
export async function migrateAll(log = console.log, env = process.env) {
  for (const name of subgraphNames()) {
    const database = await openDatabase(name, env);
    try {
      const { definition } = await subgraphModule(name);
      const result = await definition.migrate(database);
      log(`migrate ${name}: ${result.applied.length} applied, ${result.skipped.length} already applied (${database.kind})`);
    } finally {
      await database.close();
    }
  }
  await migrateUsageStore(log, env);
}

/** The gateway's usage store (gateway/migrations), opened as the gateway opens it; the gateway also applies them at start. */
async function migrateUsageStore(log, env) {
  const usage = await import(pathToFileURL(path.join(repoRoot, 'gateway/dist/usage/index.js')).href);
  const config = usage.loadUsageConfig({ ...env, PGLITE_DATA_DIR: env.PGLITE_DATA_DIR ?? path.join(repoRoot, '.data') });
  if (config.USAGE_RECORDING === 'off') return;
  if (usage.embeddedStoreInUse(config)) {
    log('migrate gateway-usage: the running gateway holds the embedded store and migrated it at start');
    return;
  }
  const store = await usage.UsageStore.open(config, { migrate: false });
  try {
    const result = await store.migrate();
    log(`migrate gateway-usage: ${result.applied.length} applied, ${result.skipped.length} already applied (${store.database.kind})`);
  } finally {
    await store.close();
  }
}

/**
 * The development seed: accounts in the user subgraph, then each subgraph's
 * data for those accounts. Idempotent; refuses to run in production.
 */
export async function seedAll(log = console.log, env = process.env) {
  if (env.NODE_ENV === 'production') throw new Error('the development seed never runs with NODE_ENV=production');
  const password = env.SEED_PASSWORD || 'suoke-dev-password';
  const extraUsers = Number(env.SEED_USERS ?? 0);
  if (!Number.isInteger(extraUsers) || extraUsers < 0 || extraUsers > 100_000) {
    throw new Error(`SEED_USERS must be an integer from 0 to 100000; received ${JSON.stringify(env.SEED_USERS)}`);
  }
  // Days of history for the seeds that take `days` (health's observations); unset leaves each seed's default (a week).
  const days = env.SEED_DAYS === undefined || env.SEED_DAYS === '' ? undefined : Number(env.SEED_DAYS);
  if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 366)) {
    throw new Error(`SEED_DAYS must be an integer from 1 to 366; received ${JSON.stringify(env.SEED_DAYS)}`);
  }
  const userDb = await openDatabase('user', env);
  let users;
  try {
    const { seedUsers } = await subgraphModule('user', 'seed');
    users = await seedUsers(userDb, { password, extraUsers });
  } finally {
    await userDb.close();
  }
  log(`seed user: ${users.length} accounts (admin@suoke.life, demo@suoke.life${extraUsers ? `, user1…user${extraUsers}@suoke.life` : ''})`);
  const demoAndExtras = users.filter((u) => u.email !== 'admin@suoke.life').map((u) => u.id);
  for (const name of subgraphNames().filter((n) => n !== 'user')) {
    const database = await openDatabase(name, env);
    try {
      const module = await subgraphModule(name, 'seed');
      const seed = module[`seed${name[0].toUpperCase()}${name.slice(1)}`];
      if (typeof seed !== 'function') continue;
      const started = Date.now();
      const result = await seed(database, { userIds: demoAndExtras, ...(days === undefined ? {} : { days }) });
      log(`seed ${name}: ${typeof result === 'object' ? JSON.stringify(result) : 'done'} in ${Date.now() - started} ms`);
    } finally {
      await database.close();
    }
  }
}

#!/usr/bin/env node
// npm start — the dev runner: build if needed, migrate, seed, start every
// subgraph and the gateway as separate processes with prefixed logs, wait until
// each is ready, print the URLs. Ctrl-C stops them all.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { migrateAll, pgliteDir, SERVICE_NODE_OPTIONS, seedAll } from './services.mjs';
import { readSupergraphConfig, repoRoot } from './supergraph-config.mjs';


const env = { ...process.env };
const production = env.NODE_ENV === 'production';
// Subgraphs trust the forwarded client IP and rate-limit budget only from a
// gateway that proves itself with the shared secret: give this run one.
if (!production && !env.GATEWAY_SECRET) env.GATEWAY_SECRET = randomBytes(24).toString('base64url');
const colors = [36, 35, 33, 32, 34, 31];
const children = new Map();
let stopping = false;

function say(message) {
  process.stdout.write(`\x1b[1m[suoke]\x1b[0m ${message}\n`);
}

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'generated' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

function needsBuild(packages) {
  return packages.some((pkg) => {
    const built = path.join(repoRoot, pkg, 'dist', 'index.js');
    return !existsSync(built) || newestMtime(path.join(repoRoot, pkg, 'src')) > statSync(built).mtimeMs;
  });
}

function prefixLines(stream, label, color) {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) process.stdout.write(`\x1b[${color}m${label.padEnd(10)}|\x1b[0m ${line}\n`);
  });
}

function start(name, script, extraEnv, color) {
  const child = spawn(process.execPath, [...SERVICE_NODE_OPTIONS, script], {
    cwd: repoRoot,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  prefixLines(child.stdout, name, color);
  prefixLines(child.stderr, name, color);
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (!stopping) {
      say(`${name} exited (${signal ?? `code ${code}`}); stopping everything`);
      void stopAll(1);
    }
  });
  children.set(name, child);
  return child;
}

async function waitReady(name, port, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (stopping) return;
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} was not ready on port ${port} within ${timeoutMs / 1000} s`);
}

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill('SIGTERM');
  const deadline = Date.now() + 12_000;
  while (children.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  for (const child of children.values()) child.kill('SIGKILL');
  process.exit(code);
}

process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  const { subgraphs } = readSupergraphConfig();
  const packages = ['platform', 'gateway', ...subgraphs.map((s) => `subgraphs/${s.name}`)];
  if (needsBuild(packages)) {
    say('building…');
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: repoRoot, stdio: 'inherit', env });
    if (build.status !== 0) throw new Error('the build failed');
  }
  await migrateAll(say, env);
  if (production) say('NODE_ENV=production: the development seed is skipped');
  else await seedAll(say, env);

  const gatewayPort = Number(env.GATEWAY_PORT ?? 4000);
  subgraphs.forEach((subgraph, i) => {
    const dataDir = pgliteDir(subgraph.name, env);
    start(subgraph.name, `subgraphs/${subgraph.name}/dist/index.js`, { PORT: String(subgraph.port), PGLITE_DATA_DIR: dataDir }, colors[i % colors.length]);
  });
  await Promise.all(subgraphs.map((s) => waitReady(s.name, s.port)));
  // The app's trusted documents (built by codegen) in `allow` mode: their ids resolve, Sandbox's ad-hoc text still runs.
  // Apollo's form, written by scripts/app-manifest.mjs: it names the app as their owner (client awareness).
  const appManifest = path.join(repoRoot, 'clients', 'app', 'generated', 'persisted-query-manifest.json');
  const trusted = !production && !env.TRUSTED_DOCUMENTS_PATH && existsSync(appManifest) ? { TRUSTED_DOCUMENTS_PATH: appManifest } : {};
  start('gateway', 'gateway/dist/index.js', { GATEWAY_PORT: String(gatewayPort), ...trusted }, 37);
  await waitReady('gateway', gatewayPort);

  const url = `http://localhost:${gatewayPort}/graphql`;
  say('');
  say(`Suoke Life supergraph is up (${env.DATABASE_URL ? 'PostgreSQL' : 'embedded PGlite under .data/'}, ${env.REDIS_URL ? 'Redis' : 'in-memory caches'})`);
  say(`  gateway:        ${url}`);
  if (!production) say(`  Apollo Sandbox: ${url}  (open it in a browser)`);
  for (const s of subgraphs) say(`  ${s.name.padEnd(15)} ${s.routingUrl}`);
  if (!production) say(`  sign in as demo@suoke.life / ${env.SEED_PASSWORD ? '$SEED_PASSWORD' : 'suoke-dev-password'}`);
  say('Ctrl-C stops everything.');
} catch (error) {
  say(`start failed: ${error.message}`);
  await stopAll(1);
}

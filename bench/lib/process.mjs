// Child processes of a run: the Node they run on, starting, readiness, stopping; free ports, an OTLP sink, the log.
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { createServer } from 'node:net';
import path from 'node:path';
import { SERVICE_NODE_OPTIONS } from '../../scripts/services.mjs';
import { repoRoot } from '../../scripts/supergraph-config.mjs';

/**
 * The Node binary every process a scenario starts runs on (services, gateways, peers): BENCH_NODE when
 * set, to measure a stack on another runtime than the one running the harness; this Node otherwise.
 */
export const benchNode = process.env.BENCH_NODE || process.execPath;
let benchNodeVersion;
/** The version of `benchNode` (asked once), e.g. `v26.0.0`: what the recorded header line names. */
export function runtimeVersion() {
  if (benchNodeVersion === undefined) {
    benchNodeVersion = benchNode === process.execPath ? process.version : execFileSync(benchNode, ['--version'], { encoding: 'utf8' }).trim();
  }
  return benchNodeVersion;
}

export function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * Starts `script` under the bench's Node (`benchNode`). Our services get the Node options they ship
 * with (SERVICE_NODE_OPTIONS, as the images and `npm start` run them); peers
 * pass `nodeOptions: []` and run on Node's defaults, as their users start them.
 */
export function spawnService(label, script, env, args = [], nodeOptions = SERVICE_NODE_OPTIONS) {
  const child = spawn(benchNode, [...nodeOptions, path.resolve(repoRoot, script), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.on('data', (chunk) => process.stderr.write(`[${label}] ${chunk}`));
  return child;
}

export async function waitReady(base, timeoutMs = 30_000, route = '/health/ready') {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}${route}`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${base} not ready within ${timeoutMs / 1000} s`);
}

export function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

/** An OTLP/HTTP endpoint that accepts and discards, counting what it received. */
export async function otlpSink() {
  const port = await freePort();
  const received = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (chunk) => {
      received.bytes += chunk.length;
    });
    req.on('end', () => {
      received.requests += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

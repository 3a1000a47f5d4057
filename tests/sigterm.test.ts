import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, gatewayHeaders, TEST_GATEWAY_SECRET } from '@suoke/platform/testing';
import { randomClientIp, repoRoot } from './harness.js';

// Issue 8, failing parts (d): SIGTERM to a subgraph and to the gateway under a
// steady load, on the compiled entry points run as separate processes (as
// scripts/start-all.mjs runs them). Requests in flight when the signal arrives
// finish with 200 and their data; no response before the process exits is a
// 5xx; afterwards connections are refused (not a response at all).

const QUERY = `{ constitutions { code name summary characteristics recommendedHerbs { id name } recommendedAcupoints { code name } relatedSyndromes { code name } } }`;
const CALLERS = 10;

interface Service {
  name: string;
  port: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  output(): string;
}

/** This process's environment without the settings these tests control: a child gets only what is set here. */
function childEnv(): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(JWT_|GATEWAY_|DATABASE_|REDIS_|SUBGRAPH_|PGLITE_|OTEL_|SUPERGRAPH_|PORT$|NODE_ENV$|RATE_LIMITS$|SHUTDOWN_)/.test(key)),
  );
}

function spawnService(name: string, entry: string, port: number, env: Record<string, string>): Service {
  const clean = childEnv();
  const child = spawn(process.execPath, [path.join(repoRoot, entry)], {
    cwd: repoRoot,
    // USAGE_RECORDING off: not about usage, and spawned gateways would otherwise share the repository's .data/gateway-usage.
    env: { ...clean, NODE_ENV: 'test', OTEL_SDK_DISABLED: 'true', LOG_LEVEL: 'silent', GATEWAY_SECRET: TEST_GATEWAY_SECRET, USAGE_RECORDING: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output = (output + chunk).slice(-4_000)));
  child.stderr!.on('data', (chunk) => (output = (output + chunk).slice(-4_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return { name, port, child, exited, output: () => output };
}

async function waitReady(service: Service, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) throw new Error(`${service.name} exited with ${service.child.exitCode}: ${service.output()}`);
    const ok = await fetch(`http://127.0.0.1:${service.port}/health/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${service.name} not ready on ${service.port} within ${timeoutMs} ms: ${service.output()}`);
}

interface Outcome {
  start: number;
  end: number;
  status?: number;
  /** 200 with the constitutions and no errors. */
  ok: boolean;
  codes: string[];
  /** The fetch failed without a response (refused, reset). */
  failure?: string;
}

/** Sends the query until `done()`; `pending` holds the requests sent and not yet answered. */
async function runLoad(options: { url: string; headers: () => Record<string, string>; callers: number; done: () => boolean; exited: () => boolean; afterEach?: (outcomes: Outcome[]) => void }) {
  const outcomes: Outcome[] = [];
  const pending = new Set<Outcome>();
  const caller = async () => {
    while (!options.done()) {
      const outcome: Outcome = { start: Date.now(), end: 0, ok: false, codes: [] };
      pending.add(outcome);
      try {
        const response = await fetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...options.headers() },
          body: JSON.stringify({ query: QUERY }),
        });
        outcome.status = response.status;
        const text = await response.text();
        let body: { data?: { constitutions?: unknown[] } | null; errors?: { extensions?: { code?: string } }[] } = {};
        try {
          body = JSON.parse(text);
        } catch {
          outcome.codes.push(`non-JSON: ${text.slice(0, 80)}`);
        }
        outcome.codes.push(...(body.errors ?? []).map((e) => String(e.extensions?.code)));
        outcome.ok = response.status === 200 && (body.data?.constitutions?.length ?? 0) === 9 && !body.errors?.length;
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        outcome.failure = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
      }
      outcome.end = Date.now();
      pending.delete(outcome);
      outcomes.push(outcome);
      options.afterEach?.(outcomes);
      // Once the process is gone, pace the callers: refused connections come back at once.
      if (options.exited()) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const finished = Promise.all(Array.from({ length: options.callers }, caller)).then(() => outcomes);
  return { pending, finished };
}

/**
 * `CALLERS` callers send the query to `url` back to back; SIGTERM goes to
 * `target` once `warmup` requests have completed, and the load stops 300 ms
 * after it exits (bounded by `maxMs`). `alongside` is another load (e.g.
 * through the gateway) that runs and stops with it. The requests pending when
 * the signal is sent are the ones in flight.
 */
async function loadAndSignal(options: {
  url: string;
  headers: () => Record<string, string>;
  target: Service;
  warmup: number;
  maxMs: number;
  alongside?: { url: string; headers: () => Record<string, string>; callers: number };
}) {
  let signalAt = 0;
  let exitAt = 0;
  const begin = Date.now();
  const done = () => (exitAt > 0 && Date.now() - exitAt > 300) || Date.now() - begin > options.maxMs;
  const exited = () => exitAt > 0;
  void options.target.exited.then(({ at }) => (exitAt = at));
  let inFlight: Outcome[] = [];
  let inFlightAlongside: Outcome[] = [];
  const other = options.alongside ? await runLoad({ ...options.alongside, done, exited }) : undefined;
  const main = await runLoad({
    url: options.url,
    headers: options.headers,
    callers: CALLERS,
    done,
    exited,
    afterEach: (outcomes) => {
      if (signalAt || outcomes.length < options.warmup) return;
      signalAt = Date.now();
      inFlight = [...main.pending];
      inFlightAlongside = other ? [...other.pending] : [];
      options.target.child.kill('SIGTERM');
    },
  });
  const outcomes = await main.finished;
  const alongside = other ? await other.finished : [];
  const exit = await options.target.exited;
  return {
    exit,
    inFlight,
    summary: summarize(outcomes, inFlight, signalAt, exit),
    alongside: other ? { inFlight: inFlightAlongside, summary: summarize(alongside, inFlightAlongside, signalAt, exit) } : undefined,
  };
}

function summarize(outcomes: Outcome[], inFlight: Outcome[], signalAt: number, exit: { at: number; code: number | null; signal: NodeJS.Signals | null }) {
  const beforeExit = outcomes.filter((o) => o.status !== undefined && o.end <= exit.at);
  return {
    requests: outcomes.length,
    inFlightAtSignal: inFlight.length,
    inFlightOk: inFlight.filter((o) => o.ok).length,
    startedAfterSignal: outcomes.filter((o) => o.start >= signalAt).length,
    responsesBeforeExit: beforeExit.length,
    fiveXxBeforeExit: beforeExit.filter((o) => o.status! >= 500).length,
    fiveXx: outcomes.filter((o) => (o.status ?? 0) >= 500).length,
    afterSignalAnswered200: outcomes.filter((o) => o.start >= signalAt && o.status === 200).length,
    noResponse: outcomes.filter((o) => o.failure).length,
    noResponseStartedBeforeSignal: outcomes.filter((o) => o.failure && o.start < signalAt).length,
    failures: Object.fromEntries([...new Set(outcomes.map((o) => o.failure).filter(Boolean))].map((f) => [f, outcomes.filter((o) => o.failure === f).length])),
    statuses: Object.fromEntries([...new Set(outcomes.map((o) => o.status).filter(Boolean))].map((st) => [st, outcomes.filter((o) => o.status === st).length])),
    errorCodes: Object.fromEntries([...new Set(outcomes.flatMap((o) => o.codes))].map((c) => [c, outcomes.filter((o) => o.codes.includes(c)).length])),
    drainMs: exit.at - signalAt,
    exit: exit.signal ?? exit.code,
  };
}

const RESETS = ['ECONNRESET', 'UND_ERR_SOCKET'];

/**
 * What a request may get instead of an answer, none of them a 5xx response: a
 * refused connection once the listener is closed, or a reset before any
 * response byte when it was written to a keep-alive connection that the
 * stopping server was closing as idle at that moment (it had not read the
 * request; undici does not resend a POST, the gateway's fetcher does). In
 * Kubernetes the preStop pause (deploy/k8s) keeps new requests away before
 * SIGTERM, so that race is the orchestrator's to avoid.
 */
function expectNoResponseOnlyAsRefusedOrUnreadReset(summary: { failures: Record<string, number> }) {
  for (const failure of Object.keys(summary.failures)) expect(['ECONNREFUSED', ...RESETS]).toContain(failure);
}

/** Requests pending when the signal was sent: each answered 200 with its data, unless the server never read it (see above). */
function expectInFlightAnswered(inFlight: Outcome[]): number {
  const unread = inFlight.filter((o) => o.status === undefined && RESETS.includes(o.failure ?? ''));
  expect(inFlight.filter((o) => !o.ok && !unread.includes(o))).toEqual([]);
  // Most of them were answered: the drain let them finish.
  expect(inFlight.filter((o) => o.ok).length).toBeGreaterThan(inFlight.length / 2);
  return unread.length;
}

describe('SIGTERM under load', () => {
  let dir: string;
  let knowledge: Service | undefined;
  let gateway: Service | undefined;
  let knowledgePort: number;
  let gatewayPort: number;
  const env: Record<string, string> = {};

  const startKnowledge = async () => {
    knowledge = spawnService('knowledge', 'subgraphs/knowledge/dist/index.js', knowledgePort, { ...env, PORT: String(knowledgePort) });
    await waitReady(knowledge);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'suoke-sigterm-'));
    env.PGLITE_DATA_DIR = path.join(dir, 'knowledge');
    // As the container does before the subgraph starts (the migration loads the content).
    const migrate = spawnSync(process.execPath, [path.join(repoRoot, 'deploy/migrate.mjs'), 'knowledge'], {
      cwd: repoRoot,
      env: { ...childEnv(), ...env, LOG_LEVEL: 'silent', OTEL_SDK_DISABLED: 'true' },
      encoding: 'utf8',
      timeout: 100_000,
    });
    expect(migrate.status, `${migrate.stdout}\n${migrate.stderr}`).toBe(0);
    knowledgePort = await freePort();
    gatewayPort = await freePort();
    await startKnowledge();
    // The other subgraphs are not started: the query needs none, and their routing URLs point at a closed port.
    const closed = `http://127.0.0.1:${await freePort()}/graphql`;
    gateway = spawnService('gateway', 'gateway/dist/index.js', gatewayPort, {
      GATEWAY_PORT: String(gatewayPort),
      SUBGRAPH_KNOWLEDGE_URL: `http://127.0.0.1:${knowledgePort}/graphql`,
      ...Object.fromEntries(['USER', 'HEALTH', 'AGENT', 'DIAGNOSIS'].map((n) => [`SUBGRAPH_${n}_URL`, closed])),
      // Load arrives from one address here; each call names its own client, as behind a proxy.
      TRUSTED_PROXY_HOPS: '1',
    });
    await waitReady(gateway);
  }, 150_000);

  afterAll(async () => {
    for (const service of [gateway, knowledge]) {
      if (service && service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a subgraph drains: requests in flight finish with 200, no 5xx before it exits, then connections are refused', async () => {
    const target = knowledge!;
    const { inFlight, summary, alongside } = await loadAndSignal({
      url: `http://127.0.0.1:${target.port}/graphql`,
      // As the gateway calls it: the shared secret and a forwarded client address.
      headers: () => gatewayHeaders(),
      target,
      warmup: 30,
      maxMs: 30_000,
      // And the same query through the gateway, which stays up.
      alongside: { url: `http://127.0.0.1:${gateway!.port}/graphql`, headers: () => ({ 'x-forwarded-for': randomClientIp() }), callers: 4 },
    });
    console.log(`SIGTERM knowledge, direct: ${JSON.stringify(summary)}`);
    console.log(`SIGTERM knowledge, through the gateway: ${JSON.stringify(alongside!.summary)}`);
    expect(summary.exit).toBe(0);
    expect(inFlight.length).toBeGreaterThan(0);
    console.log(`  in flight at the signal ${inFlight.length}: answered 200 ${inFlight.filter((o) => o.ok).length}, reset unread ${expectInFlightAnswered(inFlight)}`);
    expect(summary.fiveXx).toBe(0);
    expectNoResponseOnlyAsRefusedOrUnreadReset(summary);
    // Through the gateway, which stays up: every request answered 200, none 5xx. A client request pending at
    // the signal whose subgraph fetch went out after the listener closed (one instance: nowhere else to retry)
    // gets the field's SERVICE_UNAVAILABLE error, never a 5xx and never a dropped connection.
    const viaGateway = alongside!;
    expect(viaGateway.summary.noResponse).toBe(0);
    expect(viaGateway.summary.fiveXx).toBe(0);
    expect(Object.keys(viaGateway.summary.statuses)).toEqual(['200']);
    for (const code of Object.keys(viaGateway.summary.errorCodes)) expect(code).toBe('SERVICE_UNAVAILABLE');
    console.log(
      `  through the gateway, in flight at the signal ${viaGateway.inFlight.length}: with data ${viaGateway.inFlight.filter((o) => o.ok).length}, ` +
        `SERVICE_UNAVAILABLE ${viaGateway.inFlight.filter((o) => o.codes.includes('SERVICE_UNAVAILABLE')).length}`,
    );
  });

  it('the gateway drains: requests in flight finish with 200, no 5xx before it exits, then connections are refused', async () => {
    await startKnowledge();
    const target = gateway!;
    // The gateway finds the restarted subgraph again (its readiness probe may have ejected the old one).
    const deadline = Date.now() + 20_000;
    let answered = false;
    while (!answered && Date.now() < deadline) {
      const response = await fetch(`http://127.0.0.1:${target.port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': randomClientIp() },
        body: JSON.stringify({ query: QUERY }),
      });
      const body = (await response.json()) as { data?: { constitutions?: unknown[] } | null; errors?: unknown[] };
      answered = response.status === 200 && !body.errors && body.data?.constitutions?.length === 9;
      if (!answered) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(answered).toBe(true);
    const { inFlight, summary } = await loadAndSignal({
      url: `http://127.0.0.1:${target.port}/graphql`,
      headers: () => ({ 'x-forwarded-for': randomClientIp() }),
      target,
      warmup: 30,
      maxMs: 30_000,
    });
    console.log(`SIGTERM gateway: ${JSON.stringify(summary)}`);
    expect(summary.exit).toBe(0);
    expect(inFlight.length).toBeGreaterThan(0);
    console.log(`  in flight at the signal ${inFlight.length}: answered 200 ${inFlight.filter((o) => o.ok).length}, reset unread ${expectInFlightAnswered(inFlight)}`);
    expect(summary.fiveXx).toBe(0);
    expectNoResponseOnlyAsRefusedOrUnreadReset(summary);
  });
});

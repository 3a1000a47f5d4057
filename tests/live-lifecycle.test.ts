import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_TRUSTED_SERVICES } from '@suoke/platform';
import { freePort, testServiceToken, testToken } from '@suoke/platform/testing';
import { parse, print, visit } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { codes, post, randomClientIp, repoRoot, startStack, waitForOutcome, type Stack } from './harness.js';
import { codesOf, subscribe, waitFor, type Payload } from './live-harness.js';

/**
 * The lifecycle of a subscription through the whole stack: the five real
 * subgraphs (tests/harness.ts), the gateway's /graphql over graphql-ws, the
 * graphql-sse stream it holds on the owning subgraph. What the subgraph has
 * open is read from the subgraph itself (its open stream count), never
 * inferred from the gateway. With REDIS_URL the user subgraph runs as two
 * replicas (the gateway is given both), and one test proves an event
 * published on one reaches a subscription held on the other.
 */
const REDIS = Boolean(process.env.REDIS_URL);
const HARNESS_SECRET = 'harness-gateway-secret-0123456789';
const ADDED = 'subscription Added { notificationAdded { id title reportId } }';
const REPORT = 'subscription Report($id: ID!) { reportUpdated(id: $id) { id status statusReason primaryConstitution { code name } } }';
const POST = 'mutation Post($input: PostNotificationInput!) { postNotification(input: $input) { id } }';

let stack: Stack;
let dir: string;
let supergraphPath: string;
const updates: { accepted: boolean; hash: string; error?: string }[] = [];
const clients: Client[] = [];
let questions: { id: string; reverseScored: boolean; constitution: { code: string } }[];

// The saga's first step (the agent's explanation, asked for through the gateway) can be held by a proxy that the
// subgraphs use as their GATEWAY_URL, so a report is seen PENDING before it changes.
let proxy: Server;
let holding = false;
const held: (() => void)[] = [];
const release = () => {
  holding = false;
  for (const go of held.splice(0)) go();
};

function startProxy(): Promise<string> {
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (holding && body.includes('SagaExplainReport')) await new Promise<void>((resolve) => held.push(resolve));
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'content-length', 'connection'].includes(name)) headers[name] = value;
      }
      try {
        const answer = await fetch(stack.gatewayUrl, { method: req.method ?? 'POST', headers, body });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`)));
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'live-lifecycle-'));
  supergraphPath = path.join(dir, 'supergraph.graphql');
  copyFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), supergraphPath);
  const proxyUrl = await startProxy();
  stack = await startStack({
    replicas: REDIS ? { user: 2 } : {},
    // SAGA_WAIT_MS 0: completeConsultation answers at once with the report PENDING; the saga goes on.
    subgraphEnv: { GATEWAY_URL: proxyUrl, SAGA_WAIT_MS: '0' },
    gatewayEnv: { SUPERGRAPH_PATH: supergraphPath },
    onSupergraphUpdate: (outcome) => updates.push(outcome),
  });
  questions = (await stack.query('{ constitutionQuestionnaire { id reverseScored constitution { code } } }')).data?.constitutionQuestionnaire;
}, 120_000);

afterEach(async () => {
  release();
  for (const client of clients.splice(0)) await client.dispose();
  // Nothing a test opened is left open on the subgraphs.
  await waitFor(() => streams('user') === 0 && streams('diagnosis') === 0, 'every subgraph-side stream closed', 5_000);
});

afterAll(async () => {
  release();
  await stack?.stop();
  await new Promise((resolve) => proxy?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Streams open on every instance of a subgraph, as the subgraphs count them. */
const streams = (name: string) => stack.instances[name]!.reduce((sum, instance) => sum + instance.openStreams(), 0);

async function signUp() {
  const answer = await stack.query<{ register: { accessToken: string; user: { id: string } } }>(
    'mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }',
    { input: { email: `lifecycle-${randomUUID()}@example.com`, password: 'correct-horse-battery-staple', displayName: 'Lifecycle' } },
  );
  expect(codes(answer)).toEqual([]);
  return { id: answer.data!.register.user.id, token: answer.data!.register.accessToken };
}

function connect(token: string | undefined, url = stack.gatewayUrl) {
  const closed: number[] = [];
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (event) => closed.push((event as { code: number }).code) },
  });
  clients.push(client);
  return { client, closed };
}

/** A completed consultation's report (the saga runs on after the answer): its id and status as answered. */
async function completeConsultation(token: string): Promise<{ id: string; status: string }> {
  const started = await stack.query('mutation { startConsultation { id } }', {}, token);
  expect(started.errors).toBeUndefined();
  const id = started.data?.startConsultation.id;
  const answers = questions.map((q) => ({ questionId: q.id, value: q.constitution.code === 'QI_DEFICIENT' ? 5 : q.constitution.code === 'BALANCED' ? (q.reverseScored ? 4 : 2) : 1 }));
  const inquiry = await stack.query('mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers } }, token);
  expect(inquiry.errors).toBeUndefined();
  const completed = await stack.query('mutation($id: ID!) { completeConsultation(id: $id) { report { id status } } }', { id }, token);
  expect(completed.errors, JSON.stringify(completed.errors)).toBeUndefined();
  return completed.data?.completeConsultation.report;
}

const notification = (userId: string) => ({ userId, kind: 'REPORT_READY', title: '报告已生成', body: '你的体质报告已生成', reportId: randomUUID(), key: `lifecycle-${randomUUID()}` });

/**
 * Posts a new notification for `userId` (through the gateway, or straight to one subgraph instance as the gateway
 * would) every 100 ms until `sub` has received one of them: the upstream stream opens asynchronously, a
 * notification is announced once, when first stored, and others (the saga's) may arrive meanwhile. The one
 * received, or undefined.
 */
async function postUntilReceived(sub: ReturnType<typeof subscribe>, userId: string, instanceUrl?: string): Promise<{ id: string; title: string } | undefined> {
  const service = await testServiceToken('diagnosis', ['notifications:write']);
  const posted = new Set<string>();
  const mine = () => sub.received.map((p) => p.data?.notificationAdded as { id: string; title: string } | undefined).find((n) => n && posted.has(n.id));
  for (let i = 0; i < 50 && !mine() && !sub.ended(); i += 1) {
    const input = notification(userId);
    const answer = instanceUrl
      ? await post<{ postNotification: { id: string } }>(instanceUrl, { query: POST, variables: { input } }, service, { 'x-gateway-secret': HARNESS_SECRET, 'x-suoke-client-ip': randomClientIp() })
      : await stack.query<{ postNotification: { id: string } }>(POST, { input }, service);
    expect(codes(answer), JSON.stringify(answer.errors)).toEqual([]);
    posted.add(answer.data!.postNotification.id);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return mine();
}

const last = (sub: ReturnType<typeof subscribe>): Payload | undefined => sub.received.at(-1);
const statuses = (sub: ReturnType<typeof subscribe>) => sub.received.map((p) => (p.data?.reportUpdated as { status?: string } | undefined)?.status ?? codesOf(p).join());

describe('the lifecycle of subscriptions through the whole stack', () => {
  it('reportUpdated through the gateway: PENDING, then PUBLISHED as the saga runs, each event completed by knowledge', async () => {
    const alice = await signUp();
    holding = true;
    const report = await completeConsultation(alice.token);
    expect(report.status).toBe('PENDING');
    const { client } = connect(alice.token);
    const sub = subscribe(client, REPORT, { id: report.id });
    await waitFor(() => sub.received.length === 1, 'the current state', 10_000);
    expect(sub.received[0]).toEqual({ data: { reportUpdated: { id: report.id, status: 'PENDING', statusReason: null, primaryConstitution: { code: 'QI_DEFICIENT', name: '气虚质' } } } });
    release();
    await waitFor(() => statuses(sub).includes('PUBLISHED'), 'the report published', 15_000);
    expect(statuses(sub)).toEqual(['PENDING', 'PUBLISHED']);
    expect(last(sub)).toEqual({ data: { reportUpdated: { id: report.id, status: 'PUBLISHED', statusReason: null, primaryConstitution: { code: 'QI_DEFICIENT', name: '气虚质' } } } });
    expect(sub.ended()).toBe(false);
  });

  it('reportUpdated through the gateway: PENDING, then FAILED with its statusReason when a saga step fails for good', async () => {
    // A valid token for an account the user subgraph does not have: the saga's NOTIFY step is refused for good.
    const token = await testToken({ id: randomUUID() });
    holding = true;
    const report = await completeConsultation(token);
    expect(report.status).toBe('PENDING');
    const { client } = connect(token);
    const sub = subscribe(client, REPORT, { id: report.id });
    await waitFor(() => sub.received.length === 1, 'the current state', 10_000);
    release();
    await waitFor(() => statuses(sub).includes('FAILED'), 'the report failed', 20_000);
    expect(statuses(sub)).toEqual(['PENDING', 'FAILED']);
    expect(last(sub)?.data?.reportUpdated).toMatchObject({ id: report.id, status: 'FAILED', statusReason: 'The notification that the report is ready could not be sent' });
  });

  it('a client that disconnects closes the subgraph-side subscription within a second; so does one that completes', async () => {
    const alice = await signUp();
    const { client } = connect(alice.token);
    const first = subscribe(client, ADDED);
    subscribe(client, ADDED);
    await waitFor(() => streams('user') === 2, 'two streams open on the user subgraph', 10_000);
    first.unsubscribe();
    await waitFor(() => streams('user') === 1, 'the completed one closed on the subgraph', 1_000);
    await client.dispose();
    await waitFor(() => streams('user') === 0, 'the disconnected one closed on the subgraph', 1_000);
  });

  it('a user subgraph restart ends its subscriptions with SERVICE_UNAVAILABLE (never a hang), others go on, new ones work once it is back', async () => {
    const alice = await signUp();
    const report = await completeConsultation(alice.token);
    const { client } = connect(alice.token);
    const added = subscribe(client, ADDED);
    const other = subscribe(client, REPORT, { id: report.id });
    await waitFor(() => streams('user') === 1 && streams('diagnosis') === 1 && other.received.length >= 1, 'both open upstream', 10_000);
    for (const instance of stack.instances.user!) await instance.stop();
    await waitFor(() => added.ended(), 'the affected subscription to end', 5_000);
    expect(added.state.error, 'completed, not errored').toBeUndefined();
    expect(codesOf(last(added))).toEqual(['SERVICE_UNAVAILABLE']);
    expect(other.ended(), 'the diagnosis subscription is not affected').toBe(false);
    for (const instance of stack.instances.user!) await instance.start();
    // The gateway may have ejected the stopped instances for a while: a new subscription is tried until one holds.
    const deadline = Date.now() + 20_000;
    let again = subscribe(client, ADDED);
    for (;;) {
      await waitFor(() => streams('user') === 1 || again.ended(), 'the new subscription held or refused', 10_000);
      if (!again.ended()) break;
      expect(codesOf(last(again))).toEqual(['SERVICE_UNAVAILABLE']);
      expect(Date.now(), 'a new subscription held within 20 s of the restart').toBeLessThan(deadline);
      await new Promise((resolve) => setTimeout(resolve, 250));
      again = subscribe(client, ADDED);
    }
    expect(await postUntilReceived(again, alice.id), JSON.stringify(again.received)).toMatchObject({ title: '报告已生成' });
  });

  it('a supergraph hot reload keeps running subscriptions going, and ends with a reason those whose field vanished', async () => {
    const alice = await signUp();
    const report = await completeConsultation(alice.token);
    const { client } = connect(alice.token);
    const added = subscribe(client, ADDED);
    const updated = subscribe(client, REPORT, { id: report.id });
    await waitFor(() => streams('user') === 1 && streams('diagnosis') === 1 && updated.received.length >= 1, 'both open upstream', 10_000);
    const original = readFileSync(supergraphPath, 'utf8');
    const without = print(
      visit(parse(original), {
        ObjectTypeDefinition: (node) =>
          node.name.value === 'Subscription' ? { ...node, fields: node.fields?.filter((f) => f.name.value !== 'reportUpdated') } : undefined,
      }),
    );
    expect(without).not.toMatch(/reportUpdated/);
    const from = updates.length;
    try {
      writeFileSync(supergraphPath, without);
      await waitForOutcome(updates, from, true, 'supergraph without reportUpdated');
      await waitFor(() => updated.state.completed, "the vanished field's subscription to end", 5_000);
      expect(codesOf(last(updated))).toEqual(['SERVICE_UNAVAILABLE']);
      expect(last(updated)!.errors![0]!.message).toMatch(/no longer in the schema/);
      await waitFor(() => streams('diagnosis') === 0, 'its subgraph-side stream closed', 1_000);
      // The other goes on, on the same upstream stream.
      expect(added.ended(), JSON.stringify([added.state, added.received])).toBe(false);
      expect(await postUntilReceived(added, alice.id), JSON.stringify(added.received)).toMatchObject({ title: '报告已生成' });
      expect(added.ended()).toBe(false);
      // A new reportUpdated is refused while the field is gone.
      const refused = subscribe(client, REPORT, { id: report.id });
      await waitFor(() => refused.ended(), 'the refusal');
      expect((refused.state.error as { extensions?: { code?: string } }[] | undefined)?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      const back = updates.length;
      writeFileSync(supergraphPath, original);
      await waitForOutcome(updates, back, true, 'original supergraph');
    }
    const restored = subscribe(client, REPORT, { id: report.id });
    await waitFor(() => restored.received.length === 1, 'reportUpdated served again', 10_000);
    expect(restored.received[0]?.data?.reportUpdated).toMatchObject({ id: report.id });
  });

  it('SIGTERM to a real gateway process completes every stream with a reason before it exits, and closes them upstream', async () => {
    const alice = await signUp();
    const report = await completeConsultation(alice.token);
    const gateway = await spawnGateway();
    try {
      const { client } = connect(alice.token, gateway.url);
      const subs = [subscribe(client, ADDED), subscribe(client, ADDED), subscribe(client, REPORT, { id: report.id })];
      await waitFor(() => streams('user') === 2 && streams('diagnosis') === 1 && subs[2]!.received.length >= 1, 'three streams open upstream', 15_000);
      gateway.child.kill('SIGTERM');
      const exit = await gateway.exited;
      expect(exit, gateway.output()).toEqual({ code: 0, signal: null });
      // `complete` reached the client for each (an error would mean the socket closed first), after a final reason.
      for (const sub of subs) {
        expect(sub.state, JSON.stringify(sub.received)).toEqual({ completed: true });
        expect(codesOf(last(sub))).toEqual(['SERVICE_UNAVAILABLE']);
        expect(last(sub)!.errors![0]!.message).toMatch(/restarting/);
      }
      await waitFor(() => streams('user') === 0 && streams('diagnosis') === 0, 'the subgraph-side streams closed', 1_000);
    } finally {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
    }
  }, 60_000);

  it.skipIf(!REDIS)(
    'across replicas: the gateway holds the subscription on one user replica, the event is published on the other, the client receives it',
    async () => {
      const alice = await signUp();
      const { client } = connect(alice.token);
      const sub = subscribe(client, ADDED);
      await waitFor(() => streams('user') === 1, 'the stream open on one replica', 10_000);
      const instances = stack.instances.user!;
      expect(instances).toHaveLength(2);
      const holder = instances.findIndex((i) => i.openStreams() === 1);
      const other = instances[1 - holder]!;
      expect(other.openStreams()).toBe(0);
      // Every one is posted on the other replica: the one received crossed over Redis.
      expect(await postUntilReceived(sub, alice.id, other.url), JSON.stringify(sub.received)).toMatchObject({ title: '报告已生成' });
      expect(sub.state.error).toBeUndefined();
      // Still held where it was.
      expect(instances[holder]!.openStreams()).toBe(1);
    },
  );
  // On the embedded default each replica has its own in-process bus: an event cannot cross processes, so the case
  // above runs with REDIS_URL only (and the stack runs one user instance).
});

/** This process's environment without what the child gateway is given here. */
function childEnv(): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(JWT_|GATEWAY_|DATABASE_|REDIS_|SUBGRAPH_|PGLITE_|OTEL_|SUPERGRAPH_|PORT$|NODE_ENV$|RATE_LIMITS$|SHUTDOWN_|TRUSTED_)/.test(key)),
  );
}

/** The compiled gateway (gateway/dist/index.js) as its own process, routing to this stack's subgraphs. */
async function spawnGateway() {
  const port = await freePort();
  const jwks = (name: string) => stack.subgraphUrls[name]!.replace(/\/graphql$/, '/.well-known/jwks.json');
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    OTEL_SDK_DISABLED: 'true',
    // Not about usage: without it every spawned gateway would share the repository's .data/gateway-usage.
    USAGE_RECORDING: 'off',
    GATEWAY_PORT: String(port),
    GATEWAY_SECRET: HARNESS_SECRET,
    JWT_JWKS_URL: jwks('user'),
    TRUSTED_SERVICES: JSON.stringify(Object.fromEntries(Object.entries(DEFAULT_TRUSTED_SERVICES).map(([name, { scopes }]) => [name, { jwks: jwks(name), scopes }]))),
    SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...Object.fromEntries(Object.entries(stack.instances).map(([name, copies]) => [`SUBGRAPH_${name.toUpperCase()}_URL`, copies.map((c) => c.url).join(',')])),
  };
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot, 'gateway/dist/index.js')], { cwd: repoRoot, env: { ...childEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk) => (output = (output + chunk).slice(-4_000)));
  child.stderr!.on('data', (chunk) => (output = (output + chunk).slice(-4_000)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}/graphql`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}: ${output}`);
    if (await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false)) break;
    if (Date.now() > deadline) throw new Error(`the gateway was not ready within 30 s: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, child, exited, output: () => output };
}

import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startStack, type Stack } from './harness.js';
import { refuseSagaClaims } from '../subgraphs/diagnosis/test/harness.js';

// completeConsultation through the gateway, with the gateway's budget for the
// diagnosis subgraph cut to 3 s. The saga's first step (the agent's
// explanation, called through the gateway) is held by a proxy that the
// services use as their GATEWAY_URL: the completion must still be answered,
// without error, with the report PENDING, and polling must then see it
// PUBLISHED. A saga whose claim fails in the database likewise.

const BUDGET_MS = '3000';
let stack: Stack;
let proxy: Server;
let target = '';
let holding = false;
const held: Array<() => void> = [];

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
        const answer = await fetch(target, { method: req.method ?? 'POST', headers, body });
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
        res.end(Buffer.from(await answer.arrayBuffer()));
      } catch {
        res.writeHead(502).end();
      }
    });
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`)));
}

function release(): void {
  holding = false;
  for (const go of held.splice(0)) go();
}

beforeAll(async () => {
  const proxyUrl = await startProxy();
  stack = await startStack({
    // The same environment reaches the gateway: its diagnosis budget and the subgraph's saga wait agree.
    subgraphEnv: { GATEWAY_URL: proxyUrl, SUBGRAPH_DIAGNOSIS_TIMEOUT_MS: BUDGET_MS, SAGA_SWEEP_MS: '300', SAGA_LEASE_MS: '1500' },
  });
  target = stack.gatewayUrl;
});
afterAll(async () => {
  release();
  await stack?.stop();
  await new Promise((resolve) => proxy?.close(resolve));
});

async function signUp(): Promise<string> {
  const registered = await stack.query(`mutation($input: RegisterInput!) { register(input: $input) { accessToken } }`, {
    input: { email: `slow-${randomUUID()}@example.com`, password: 'slow-password-2026', displayName: '李雷' },
  });
  expect(registered.errors).toBeUndefined();
  return registered.data?.register.accessToken;
}

async function openWithInquiry(token: string): Promise<string> {
  const questions = (await stack.query('{ constitutionQuestionnaire { id constitution { code } } }')).data?.constitutionQuestionnaire as { id: string; constitution: { code: string } }[];
  const started = await stack.query('mutation { startConsultation { id } }', {}, token);
  const id = started.data?.startConsultation.id as string;
  const answers = questions.map((q) => ({ questionId: q.id, value: q.constitution.code === 'DAMP_HEAT' ? 5 : 1 }));
  const inquiry = await stack.query('mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers } }, token);
  expect(inquiry.errors).toBeUndefined();
  return id;
}

const COMPLETE = 'mutation($id: ID!) { completeConsultation(id: $id) { id status report { id status } } }';

async function pollReport(id: string, token: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 150; i += 1) {
    const read = await stack.query('query($id: ID!) { consultation(id: $id) { report { status } } }', { id }, token);
    expect(read.errors).toBeUndefined();
    seen.push(read.data?.consultation.report.status);
    if (seen.at(-1) !== 'PENDING') return seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen;
}

describe('completeConsultation inside the gateway budget', () => {
  it('a saga step that hangs: answered within the budget without error, the report PENDING; polling then shows it PUBLISHED', async () => {
    const token = await signUp();
    const id = await openWithInquiry(token);
    holding = true;
    onTestFinished(release);
    const completed = await stack.query(COMPLETE, { id }, token);
    // Had the subgraph waited for the saga past the gateway's budget, the gateway would have answered an error.
    expect(completed.errors).toBeUndefined();
    expect(completed.data?.completeConsultation).toMatchObject({ id, status: 'COMPLETED', report: { status: 'PENDING' } });
    expect(held.length).toBe(1); // the explanation was under way and is still held

    release();
    const seen = await pollReport(id, token);
    expect(seen.at(-1)).toBe('PUBLISHED');
  });

  it('a database error when claiming the saga: the completion is answered, the report PENDING, and the sweep publishes it', async () => {
    const database = stack.databases.diagnosis!.database;
    const dropTrigger = await refuseSagaClaims(database);
    onTestFinished(dropTrigger);

    const token = await signUp();
    const id = await openWithInquiry(token);
    const completed = await stack.query(COMPLETE, { id }, token);
    expect(completed.errors).toBeUndefined();
    expect(completed.data?.completeConsultation).toMatchObject({ id, status: 'COMPLETED', report: { status: 'PENDING' } });

    await dropTrigger();
    const seen = await pollReport(id, token);
    expect(seen.at(-1)).toBe('PUBLISHED');
  });
});

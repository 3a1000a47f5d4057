import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '@suoke/platform/testing';
import { repoRoot, startStack, type Stack } from './harness.js';

// A diagnosis process killed (SIGKILL) in the middle of a report saga, then
// started again: it resumes where the dead one stopped, and nothing is written
// twice. The saga runner is a real child process sharing the diagnosis
// database, so this needs PostgreSQL (CI runs it; the embedded run skips it).

const CHILD_ENV = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  OTEL_SDK_DISABLED: 'true',
  GATEWAY_SECRET: 'harness-gateway-secret-0123456789',
  SAGA_SWEEP_MS: '200',
  SAGA_LEASE_MS: '1500',
  SAGA_STEP_ATTEMPTS: '10',
  SAGA_RETRY_BASE_MS: '300',
  SAGA_STEP_TIMEOUT_MS: '2000',
};

let stack: Stack;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // The in-process diagnosis subgraph serves the gateway but never sweeps: only the child resumes sagas.
  stack = await startStack({ subgraphEnv: { SAGA_SWEEP_MS: '0' } });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await stack?.stop();
});

function startRunner(): ChildProcess {
  const { REDIS_URL: _redis, ...inherited } = process.env;
  const child = spawn(process.execPath, [path.join(repoRoot, 'subgraphs/diagnosis/dist/index.js')], {
    env: { ...inherited, ...CHILD_ENV, DATABASE_URL: stack.databases.diagnosis!.url!, GATEWAY_URL: stack.gatewayUrl, PORT: '0' },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}


describe.runIf(process.env.DATABASE_URL)('a diagnosis process killed mid-saga', () => {
  it('resumes after SIGKILL: the finished step is not repeated, the unfinished one runs once, the report is published', async () => {
    const registered = await stack.query(`mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }`, {
      input: { email: `kill-${randomUUID()}@example.com`, password: 'kill-password-2026', displayName: '张伟' },
    });
    const token = registered.data?.register.accessToken;
    const questions = (await stack.query('{ constitutionQuestionnaire { id } }')).data?.constitutionQuestionnaire as { id: string }[];
    const started = await stack.query('mutation { startConsultation { id } }', {}, token);
    const id = started.data?.startConsultation.id;
    await stack.query('mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers: questions.map((q) => ({ questionId: q.id, value: 3 })) } }, token);
    const completed = await stack.query('mutation($id: ID!) { completeConsultation(id: $id) { report { id status } } }', { id }, token);
    const reportId: string = completed.data?.completeConsultation.report.id;
    expect(completed.data?.completeConsultation.report.status).toBe('PUBLISHED');

    // Attempt 2, left for a runner to pick up (what retryReport does, without running it here).
    const diagnosisDb = stack.databases.diagnosis!.database;
    await diagnosisDb.db.transaction(async (tx) => {
      await tx.execute(sql`update "diagnosis".report_sagas set attempt = 2, state = 'RUNNING', lease_until = null, lease_token = null where report_id = ${reportId}`);
      await tx.execute(sql`update "diagnosis".reports set status = 'PENDING', status_reason = null where id = ${reportId}`);
    });
    const steps = () =>
      diagnosisDb.rows<{ step: string; status: string }>(sql`select step, status from "diagnosis".report_saga_steps where report_id = ${reportId} and attempt = 2 order by step`);

    // The user subgraph is down: the runner explains, then keeps retrying NOTIFY — and is killed there.
    await stack.instances.user![0]!.stop();
    const first = startRunner();
    await until('EXPLAIN done and NOTIFY started', async () => {
      const rows = await steps();
      return rows.length === 2 && rows[0]!.status === 'DONE' && rows[1]!.status === 'STARTED' ? rows : undefined;
    }, 30_000, 25);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    await stack.instances.user![0]!.start();
    startRunner();
    const report = await until('the report published', async () => {
      const [row] = await diagnosisDb.rows<{ status: string }>(sql`select status from "diagnosis".reports where id = ${reportId}`);
      return row?.status === 'PUBLISHED' ? row : undefined;
    }, 30_000, 25);
    expect(report.status).toBe('PUBLISHED');
    expect(await steps()).toEqual([
      { step: 'EXPLAIN', status: 'DONE' },
      { step: 'NOTIFY', status: 'DONE' },
    ]);

    // Exactly one explanation and one notification per attempt: nothing written twice.
    const explanations = await stack.databases.agent!.database.rows<{ key: string; messages: number }>(sql`
      select e.key, (select count(*)::int from "agent".messages m where m.id = e.message_id) as messages
      from "agent".report_explanations e where e.report_id = ${reportId} order by e.key`);
    expect(explanations).toEqual([
      { key: `report:${reportId}:1:explain`, messages: 1 },
      { key: `report:${reportId}:2:explain`, messages: 1 },
    ]);
    const notifications = await stack.databases.user!.database.rows<{ key: string }>(
      sql`select key from "user".notifications where report_id = ${reportId} and retracted_at is null order by key`,
    );
    expect(notifications).toEqual([{ key: `report:${reportId}:1:notify` }, { key: `report:${reportId}:2:notify` }]);
  });
});

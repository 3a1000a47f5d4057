// The metrics the alert rules (deploy/observability/rules) read, each shown to move for a real event through
// the whole supergraph: operations per SLO and outcome, a saga that fails, a supergraph reload that is rejected.
// Agent replies by source: subgraphs/agent/test/reply-metrics.test.ts; job queue age: platform/test/jobs-metrics.test.ts;
// insurance mode and Redis: tests/chaos-alerts.test.ts.
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testToken } from '@suoke/platform/testing';
import { codes, repoRoot, startStack, waitForOutcome, type Stack } from './harness.js';
import { sampleSum, scrapeMetrics, type Sample } from './scrape.js';

let stack: Stack;
const updates: { accepted: boolean; hash: string; error?: string }[] = [];
const supergraphFile = path.join(mkdtempSync(path.join(tmpdir(), 'suoke-alert-metrics-')), 'supergraph.graphql');

beforeAll(async () => {
  copyFileSync(path.join(repoRoot, 'schema/supergraph.graphql'), supergraphFile);
  stack = await startStack({ gatewayEnv: { SUPERGRAPH_PATH: supergraphFile, SUPERGRAPH_POLL_MS: '200' }, onSupergraphUpdate: (u) => updates.push(u) });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const slo = (samples: Sample[], labels: Record<string, string>) => sampleSum(samples, 'suoke_slo_operations_total', labels) ?? 0;

describe('suoke_slo_operations_total and suoke_slo_operation_duration_seconds', () => {
  it('count an operation whose plan fetches from the agent subgraph under slo=agent at the gateway, and every agent subgraph operation', async () => {
    const [gatewayBefore, agentBefore] = await Promise.all([scrapeMetrics(stack.gatewayUrl), scrapeMetrics(stack.subgraphUrls.agent!)]);
    const agents = await stack.query('{ agents { id } }');
    expect(agents.errors).toBeUndefined();
    const [gatewayAfter, agentAfter] = await Promise.all([scrapeMetrics(stack.gatewayUrl), scrapeMetrics(stack.subgraphUrls.agent!)]);
    expect(slo(gatewayAfter, { slo: 'agent', outcome: 'ok' }) - slo(gatewayBefore, { slo: 'agent', outcome: 'ok' })).toBe(1);
    expect(slo(agentAfter, { slo: 'agent', outcome: 'ok' }) - slo(agentBefore, { slo: 'agent', outcome: 'ok' })).toBe(1);
    const count = (samples: Sample[]) => sampleSum(samples, 'suoke_slo_operation_duration_seconds_count', { slo: 'agent' }) ?? 0;
    expect(count(gatewayAfter) - count(gatewayBefore)).toBe(1);
    // The default SLO's 0.5 s and the agent SLO's 10 s are bucket bounds.
    expect(gatewayAfter.some((s) => s.name === 'suoke_slo_operation_duration_seconds_bucket' && s.labels.le === '0.5')).toBe(true);
    expect(gatewayAfter.some((s) => s.name === 'suoke_slo_operation_duration_seconds_bucket' && s.labels.le === '10')).toBe(true);
  });

  it('count a knowledge-only operation under slo=default', async () => {
    const before = await scrapeMetrics(stack.gatewayUrl);
    const response = await stack.query('{ constitutions { code } }');
    expect(response.errors).toBeUndefined();
    const after = await scrapeMetrics(stack.gatewayUrl);
    expect(slo(after, { slo: 'default', outcome: 'ok' }) - slo(before, { slo: 'default', outcome: 'ok' })).toBe(1);
    expect(slo(after, { slo: 'agent' }) - slo(before, { slo: 'agent' })).toBe(0);
  });

  it('tell a client error from a server error', async () => {
    const before = await scrapeMetrics(stack.gatewayUrl);
    // The client's fault: a field that does not exist.
    expect(codes(await stack.query('{ constitutions { noSuchField } }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    // Ours: the knowledge subgraph is down, the gateway answers SERVICE_UNAVAILABLE.
    const knowledge = stack.instances.knowledge![0]!;
    await knowledge.stop();
    try {
      expect(codes(await stack.query('{ constitutions { code } }'))).toContain('SERVICE_UNAVAILABLE');
    } finally {
      await knowledge.start();
    }
    const after = await scrapeMetrics(stack.gatewayUrl);
    expect(slo(after, { slo: 'default', outcome: 'client_error' }) - slo(before, { slo: 'default', outcome: 'client_error' })).toBe(1);
    expect(slo(after, { slo: 'default', outcome: 'server_error' }) - slo(before, { slo: 'default', outcome: 'server_error' })).toBe(1);
  });
});

describe('suoke_sagas_total and suoke_saga_oldest_pending_age_seconds', () => {
  it('count a consultation saga that ends FAILED, and read no pending saga once it ended', async () => {
    const questions = (await stack.query('{ constitutionQuestionnaire { id } }')).data?.constitutionQuestionnaire as { id: string }[];
    const before = await scrapeMetrics(stack.subgraphUrls.diagnosis!);
    // A valid token for an account the user subgraph does not have: the last step (NOTIFY) fails for good.
    const token = await testToken({ id: randomUUID() });
    const id = (await stack.query('mutation { startConsultation { id } }', {}, token)).data?.startConsultation.id;
    const answers = questions.map((q) => ({ questionId: q.id, value: 3 }));
    expect((await stack.query('mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId: id, answers } }, token)).errors).toBeUndefined();
    const completed = await stack.query('mutation($id: ID!) { completeConsultation(id: $id) { report { status } } }', { id }, token);
    expect(completed.data?.completeConsultation.report.status).toBe('FAILED');
    const after = await scrapeMetrics(stack.subgraphUrls.diagnosis!);
    const sagas = (samples: Sample[], outcome: string) => sampleSum(samples, 'suoke_sagas_total', { saga: 'consultation', outcome }) ?? 0;
    expect(sagas(after, 'failed') - sagas(before, 'failed')).toBe(1);
    expect(sagas(after, 'completed') - sagas(before, 'completed')).toBe(0);
    expect(sampleSum(after, 'suoke_saga_oldest_pending_age_seconds', { saga: 'consultation' })).toBe(0);
  });
});

describe('suoke_supergraph_reloads_total and suoke_supergraph_reload_failing', () => {
  it('count a rejected supergraph and say it is failing until a good one is swapped in', async () => {
    const before = await scrapeMetrics(stack.gatewayUrl);
    expect(sampleSum(before, 'suoke_supergraph_reload_failing')).toBe(0);
    const seen = updates.length;
    writeFileSync(supergraphFile, 'schema { this is not a supergraph');
    await waitForOutcome(updates, seen, false, 'supergraph update');
    const failed = await scrapeMetrics(stack.gatewayUrl);
    const reloads = (samples: Sample[], outcome: string) => sampleSum(samples, 'suoke_supergraph_reloads_total', { outcome }) ?? 0;
    expect(reloads(failed, 'failure') - reloads(before, 'failure')).toBe(1);
    expect(sampleSum(failed, 'suoke_supergraph_reload_failing')).toBe(1);

    // The committed supergraph again, with a comment so that its hash differs from the one serving: a real swap.
    const again = updates.length;
    writeFileSync(supergraphFile, `# reloaded by alert-metrics.test.ts\n${readFileSync(path.join(repoRoot, 'schema/supergraph.graphql'), 'utf8')}`);
    await waitForOutcome(updates, again, true, 'supergraph update');
    const recovered = await scrapeMetrics(stack.gatewayUrl);
    expect(reloads(recovered, 'success') - reloads(before, 'success')).toBe(1);
    expect(sampleSum(recovered, 'suoke_supergraph_reload_failing')).toBe(0);
  }, 60_000);
});

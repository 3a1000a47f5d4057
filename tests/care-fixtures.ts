import { expect } from 'vitest';
import { gatewayClient } from '@suoke/platform';
import { seedPractitioners, seedUuid } from '../subgraphs/agent/src/seed.js';
import { gatewayCareKnowledge } from '../subgraphs/agent/src/service/care-plans-knowledge.js';
import { CarePlanService, type ReportSource } from '../subgraphs/agent/src/service/care-plans.js';
import type { Stack } from './harness.js';

/**
 * XiaoKe's data for end-to-end tests (issue 20). The stack's agent subgraph has
 * no consented report reader wired in (CONSENT_REQUIRED for everyone), so a
 * care plan is proposed here by the agent's own CarePlanService over the
 * agent's database, reading the report the way only its owner may: through the
 * gateway with the owner's token. The knowledge comes through the real gateway.
 */

/** The owner's latest report, read through the gateway with the owner's own token. */
export function ownerReportSource(stack: Stack, token: string): ReportSource {
  return {
    async latestReport() {
      const response = await stack.query<{ me: { latestReport: Record<string, any> | null } }>(
        '{ me { latestReport { id createdAt primaryConstitution { code } secondaryConstitutions { code } suggestedSyndromes { code } } } }',
        {},
        token,
      );
      expect(response.errors).toBeUndefined();
      const report = response.data!.me.latestReport;
      if (!report) return null;
      return {
        id: report.id,
        createdAt: report.createdAt,
        primaryConstitution: report.primaryConstitution.code,
        secondaryConstitutions: report.secondaryConstitutions.map((c: { code: string }) => c.code),
        suggestedSyndromes: report.suggestedSyndromes.map((s: { code: string }) => s.code),
      };
    },
  };
}

/** XiaoKe's care plans over the stack's agent database, reading knowledge through the stack's gateway. */
export function stackCarePlans(stack: Stack, reports: ReportSource): CarePlanService {
  return new CarePlanService({
    database: stack.databases.agent!.database,
    reports,
    knowledge: gatewayCareKnowledge(gatewayClient({ url: stack.gatewayUrl, token: async () => undefined, timeoutMs: 10_000 })),
  });
}

/** Seeds the practitioners and books the first open slot for the user through the gateway; the appointment's id. */
export async function bookFirstSlot(stack: Stack, token: string, clientKey: string): Promise<string> {
  await seedPractitioners(stack.databases.agent!.database, seedUuid);
  const open = await stack.query<{ practitioners: Array<{ slots: { edges: Array<{ node: { id: string } }> } }> }>('{ practitioners { slots(first: 1) { edges { node { id } } } } }');
  expect(open.errors).toBeUndefined();
  const slotId = open.data!.practitioners[0]!.slots.edges[0]!.node.id;
  const booked = await stack.query<{ bookAppointment: { id: string } }>(
    'mutation ($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }',
    { input: { slotId, clientKey } },
    token,
  );
  expect(booked.errors).toBeUndefined();
  return booked.data!.bookAppointment.id;
}

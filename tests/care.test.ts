import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testToken } from '@suoke/platform/testing';
import { seedPractitioners, seedUuid } from '../subgraphs/agent/src/seed.js';
import { stackCarePlans } from './care-fixtures.js';
import { codes, startStack, type Stack } from './harness.js';

// XiaoKe through the gateway (issue 20): a care plan built from the real
// knowledge base, its citations resolved by the knowledge subgraph; the
// consent refusal and booking conflicts reaching the client with their codes.

type Data = Record<string, any>;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
  await seedPractitioners(stack.databases.agent!.database, seedUuid);
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

/** A caller with a token only: enough for the agent's mutations, not for `me` (the user subgraph knows no such account). */
async function caller() {
  const id = randomUUID();
  return { id, token: await testToken({ id }) };
}

/** A registered account, which `me` resolves. */
async function account() {
  const registered = await stack.query<Data>('mutation ($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }', {
    input: { email: `care-${randomUUID()}@example.com`, password: 'care-password-correct-horse', displayName: 'care' },
  });
  expect(registered.errors).toBeUndefined();
  return { id: registered.data!.register.user.id as string, token: registered.data!.register.accessToken as string };
}

describe('care plans through the gateway', () => {
  it('without a consented report reader, proposeCarePlan is CONSENT_REQUIRED for the client', async () => {
    const { token } = await caller();
    const result = await stack.query<Data>('mutation { proposeCarePlan { id } }', {}, token);
    expect(codes(result)).toEqual(['CONSENT_REQUIRED']);
    expect(result.data?.proposeCarePlan ?? null).toBeNull();
  });

  it('builds a plan from the real knowledge base in one gateway request; every cited entry resolves through the supergraph', async () => {
    const user = await account();
    const report = { id: randomUUID(), createdAt: new Date().toISOString(), primaryConstitution: 'QI_DEFICIENT', secondaryConstitutions: ['PHLEGM_DAMP'], suggestedSyndromes: ['SPLEEN_QI_DEFICIENCY'] };
    const before = stack.subgraphFetches();
    const { plan, created } = await stackCarePlans(stack, { latestReport: async () => report }).propose(user.id);
    expect(created).toBe(true);
    // One operation through the gateway; the knowledge subgraph answers it in one fetch.
    expect(stack.subgraphFetches() - before).toBe(1);
    const read = await stack.query<Data>(
      `{ me { carePlan { version status primaryConstitution { code name } syndromes { code name }
          recommendations { category title text cautions source { __typename ... on Constitution { code name } ... on Herb { id name cautions } ... on Acupoint { code name } ... on Syndrome { code treatmentPrinciple } } } } } }`,
      {},
      user.token,
    );
    expect(read.errors).toBeUndefined();
    const current = read.data!.me.carePlan;
    expect(current).toMatchObject({ version: 1, status: 'PROPOSED', primaryConstitution: { code: 'QI_DEFICIENT', name: '气虚质' }, syndromes: [{ code: 'SPLEEN_QI_DEFICIENCY' }] });
    expect(current.recommendations).toHaveLength(plan.recommendations.length);
    const categories = new Set(current.recommendations.map((r: Data) => r.category));
    for (const category of ['PRINCIPLE', 'DIET', 'HERB', 'ACUPOINT', 'EXERCISE', 'SLEEP', 'EMOTION']) expect(categories).toContain(category);
    for (const r of current.recommendations) {
      expect(r.source, r.title).not.toBeNull();
      expect(r.text.length).toBeGreaterThan(2);
    }
    const herbs = current.recommendations.filter((r: Data) => r.category === 'HERB');
    expect(herbs.length).toBeGreaterThan(0);
    for (const herb of herbs) {
      expect(herb.source.__typename).toBe('Herb');
      expect(herb.title).toBe(herb.source.name);
      expect(herb.cautions).toEqual(herb.source.cautions);
    }
    expect(current.recommendations.find((r: Data) => r.category === 'PRINCIPLE').source.treatmentPrinciple).toBeTruthy();
    expect(current.recommendations.some((r: Data) => r.category === 'DIET' && r.source.code === 'PHLEGM_DAMP')).toBe(true);

    // Another user's `me` holds none of it, and accepting is the owner's alone.
    const other = await account();
    expect((await stack.query<Data>('{ me { carePlan { id } carePlans { edges { node { id } } } } }', {}, other.token)).data!.me).toEqual({ carePlan: null, carePlans: { edges: [] } });
    expect(codes(await stack.query<Data>('mutation { acceptCarePlan(input: { version: 1 }) { id } }', {}, other.token))).toEqual(['NOT_FOUND']);
    const accepted = await stack.query<Data>('mutation { acceptCarePlan(input: { version: 1 }) { status } }', {}, user.token);
    expect(accepted.data!.acceptCarePlan.status).toBe('ACTIVE');
  });
});

describe('appointments through the gateway', () => {
  it('fifty users booking one slot at once: one booking, 49 CONFLICTs; cancelling frees the slot', async () => {
    const open = await stack.query<Data>('{ practitioners { name slots(first: 1) { edges { node { id startsAt } } } } }');
    expect(open.errors).toBeUndefined();
    const slotId = open.data!.practitioners[1].slots.edges[0].node.id;
    const users = await Promise.all(Array.from({ length: 50 }, caller));
    const BOOK = 'mutation ($input: BookAppointmentInput!) { bookAppointment(input: $input) { id status practitioner { name } } }';
    const answers = await Promise.all(users.map((u) => stack.query<Data>(BOOK, { input: { slotId, clientKey: 'gateway-rush' } }, u.token)));
    const won = answers.flatMap((a, i) => (a.data?.bookAppointment ? [{ answer: a, user: users[i]! }] : []));
    const conflicts = answers.filter((a) => codes(a).join() === 'CONFLICT');
    expect([won.length, conflicts.length]).toEqual([1, 49]);
    const winner = won[0]!;
    expect(winner.answer.data!.bookAppointment).toMatchObject({ status: 'BOOKED', practitioner: { name: open.data!.practitioners[1].name } });

    const cancelled = await stack.query<Data>('mutation ($id: ID!) { cancelAppointment(input: { appointmentId: $id }) { status } }', { id: winner.answer.data!.bookAppointment.id }, winner.user.token);
    expect(cancelled.data!.cancelAppointment.status).toBe('CANCELLED');
    const second = await stack.query<Data>(BOOK, { input: { slotId, clientKey: 'after-cancel' } }, users[0] === winner.user ? users[1]!.token : users[0]!.token);
    expect(second.data!.bookAppointment.status).toBe('BOOKED');
  });

  it('a registered user reads their appointments through `me`, with the practitioner resolved', async () => {
    const user = await account();
    const open = await stack.query<Data>('{ practitioners { slots(first: 1) { edges { node { id } } } } }');
    const slotId = open.data!.practitioners[2].slots.edges[0].node.id;
    const booked = await stack.query<Data>('mutation ($input: BookAppointmentInput!) { bookAppointment(input: $input) { id } }', { input: { slotId, clientKey: 'me' } }, user.token);
    expect(booked.errors).toBeUndefined();
    const mine = await stack.query<Data>('{ me { appointments { edges { node { id status slot { id } practitioner { title } } } } } }', {}, user.token);
    expect(mine.errors).toBeUndefined();
    expect(mine.data!.me.appointments.edges.map((e: Data) => [e.node.id, e.node.status, e.node.slot.id])).toEqual([[booked.data!.bookAppointment.id, 'BOOKED', slotId]]);
    const stranger = await account();
    expect((await stack.query<Data>('{ me { appointments { edges { node { id } } } } }', {}, stranger.token)).data!.me.appointments.edges).toEqual([]);
  });
});

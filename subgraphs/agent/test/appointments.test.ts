import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertAppointment } from '../src/db/appointments.js';
import { seedPractitioners, seedUuid, SEED_PRACTITIONERS } from '../src/seed.js';
import { AppointmentService } from '../src/service/appointments.js';
import { startCareAgent, type CareAgent } from './care-harness.js';
import { codes } from './harness.js';

// XiaoKe's bookings: practitioners and their open slots (public), bookAppointment
// idempotent by a client key, exactly one booking of a slot under concurrency,
// and cancelAppointment freeing the slot. Owner-only reads.

type Data = Record<string, any>;

let agent: CareAgent;
let service: AppointmentService;

beforeAll(async () => {
  agent = await startCareAgent();
  await seedPractitioners(agent.database, seedUuid);
  service = agent.subgraph.care.appointments;
});
afterAll(async () => {
  await agent?.close();
});

const BOOK = `mutation ($input: BookAppointmentInput!) { bookAppointment(input: $input) { id status startsAt endsAt cancelledAt practitioner { id name } slot { id practitioner { name } } } }`;
const CANCEL = `mutation ($input: CancelAppointmentInput!) { cancelAppointment(input: $input) { id status cancelledAt } }`;
const MINE = `query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { appointments(first: 10) { edges { node { id status startsAt practitioner { name } slot { id } } } } } } }`;

const user = () => ({ id: randomUUID() });

/** A fresh open slot nobody else in this file uses (each test books its own). */
let slotCursor = 0;
async function freshSlot(): Promise<{ id: string; practitionerName: string; startsAt: string }> {
  const open = await service.openSlots({ first: 100 });
  const slot = open[slotCursor++];
  if (!slot) throw new Error('ran out of seeded slots');
  return slot;
}

async function bookedRows(slotId: string) {
  return agent.database.rows<{ n: number }>(sql`select count(*)::int as n from "agent".appointments where slot_id = ${slotId} and status = 'BOOKED'`);
}

describe('practitioners and slots (public)', () => {
  it('lists the seeded practitioners, each with open slots in the coming weeks, earliest first, paged', async () => {
    const result = await agent.gql<Data>(`{ practitioners { id name title specialty slots(first: 4) { edges { cursor node { id startsAt endsAt practitioner { id } } } pageInfo { hasNextPage endCursor } } } }`);
    expect(result.errors).toBeUndefined();
    const list = result.data!.practitioners;
    expect(list.map((p: Data) => p.name)).toEqual(SEED_PRACTITIONERS.map((p) => p.name));
    for (const p of list) {
      const slots = p.slots.edges.map((e: Data) => e.node);
      expect(slots).toHaveLength(4);
      expect(p.slots.pageInfo.hasNextPage).toBe(true);
      for (const s of slots) {
        expect(s.practitioner.id).toBe(p.id);
        expect(Date.parse(s.startsAt)).toBeGreaterThan(Date.now());
        expect(Date.parse(s.endsAt) - Date.parse(s.startsAt)).toBe(30 * 60_000);
      }
      expect([...slots].sort((a: Data, b: Data) => a.startsAt.localeCompare(b.startsAt))).toEqual(slots);
    }
    const first = list[0];
    const next = await agent.gql<Data>(`query ($id: ID!, $after: String) { practitioner(id: $id) { slots(first: 4, after: $after) { edges { node { id startsAt } } } } }`, { id: first.id, after: first.slots.pageInfo.endCursor });
    const nextSlots = next.data!.practitioner.slots.edges.map((e: Data) => e.node);
    expect(nextSlots).toHaveLength(4);
    expect(Date.parse(nextSlots[0].startsAt)).toBeGreaterThan(Date.parse(first.slots.edges[3].node.startsAt));
    const later = '2099-01-01T00:00:00Z';
    const none = await agent.gql<Data>(`query ($id: ID!, $from: DateTime) { practitioner(id: $id) { slots(from: $from) { edges { node { id } } } } }`, { id: first.id, from: later });
    expect(none.data!.practitioner.slots.edges).toEqual([]);
    expect((await agent.gql<Data>(`{ practitioner(id: "nope") { id } }`)).data).toEqual({ practitioner: null });
  });

  it('the development seed is idempotent: a second run on the same day adds nothing', async () => {
    const [before] = await agent.database.rows<{ n: number }>(sql`select count(*)::int as n from "agent".slots`);
    expect(before!.n).toBeGreaterThanOrEqual(3 * 6 * 14);
    expect(await seedPractitioners(agent.database, seedUuid)).toEqual({ practitioners: 0, slots: 0 });
  });

  it('openSlots (for the tools): every practitioner’s or one’s, with names, validated', async () => {
    const all = await service.openSlots({ first: 10 });
    expect(all).toHaveLength(10);
    expect(all[0]).toEqual({ id: expect.any(String), practitionerId: expect.any(String), practitionerName: expect.any(String), startsAt: expect.any(String), endsAt: expect.any(String) });
    const one = await service.openSlots({ practitionerId: SEED_PRACTITIONERS[2].id, first: 5 });
    expect(new Set(one.map((s) => s.practitionerName))).toEqual(new Set([SEED_PRACTITIONERS[2].name]));
    const from = new Date(Date.now() + 7 * 86_400_000).toISOString();
    expect((await service.openSlots({ from, first: 3 })).every((s) => s.startsAt >= from)).toBe(true);
    await expect(service.openSlots({ first: 0 })).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    await expect(service.openSlots({ from: 'tomorrow' })).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('reads slots of every practitioner and their practitioners with the same statements for 1 and 3 practitioners', async () => {
    const QUERY = `{ practitioners { id slots(first: 3) { edges { node { id practitioner { name } } } } } }`;
    const { result, statements } = await agent.countStatements(() => agent.gql<Data>(QUERY));
    expect(result.data!.practitioners).toHaveLength(3);
    // practitioners (priming the by-id loader), one statement for every practitioner's slot page.
    expect(statements).toBe(2);
    const byId = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Practitioner { id name slots(first: 2) { edges { node { id } } } } } }`;
    const counts = [];
    for (const n of [1, 3]) {
      const representations = SEED_PRACTITIONERS.slice(0, n).map((p) => ({ __typename: 'Practitioner', id: p.id }));
      const counted = await agent.countStatements(() => agent.gql<Data>(byId, { representations }));
      expect(counted.result.data!._entities.map((p: Data) => p.slots.edges.length)).toEqual(Array(n).fill(2));
      counts.push(counted.statements);
    }
    expect(counts).toEqual([2, 2]);
  });
});

describe('bookAppointment', () => {
  it('books an open slot; it leaves the open slots; the same key returns the same booking; the same key for another slot is BAD_USER_INPUT', async () => {
    const me = user();
    const slot = await freshSlot();
    const clientKey = `book-${randomUUID()}`;
    const booked = await agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey } }, me);
    expect(booked.errors).toBeUndefined();
    const appointment = booked.data!.bookAppointment;
    expect(appointment).toMatchObject({ status: 'BOOKED', startsAt: slot.startsAt, cancelledAt: null, practitioner: { name: slot.practitionerName }, slot: { id: slot.id, practitioner: { name: slot.practitionerName } } });
    expect((await service.openSlots({ first: 100 })).map((s) => s.id)).not.toContain(slot.id);

    const replay = await agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey } }, me);
    expect(replay.data!.bookAppointment).toEqual(appointment);
    const other = await freshSlot();
    const misuse = await agent.gql<Data>(BOOK, { input: { slotId: other.id, clientKey } }, me);
    expect(codes(misuse)).toEqual(['BAD_USER_INPUT']);
    expect(misuse.errors![0]!.extensions!.field).toBe('input.clientKey');
    expect(misuse.errors![0]!.message).toContain(slot.id);
    expect((await bookedRows(other.id))[0]!.n).toBe(0);

    const mine = await agent.gql<Data>(MINE, { id: me.id }, me);
    expect(mine.data!._entities[0].appointments.edges.map((e: Data) => e.node.id)).toEqual([appointment.id]);
  });

  it('a slot someone holds is CONFLICT; an unknown slot NOT_FOUND; a slot that has begun or a bad key BAD_USER_INPUT; anonymous UNAUTHENTICATED', async () => {
    const slot = await freshSlot();
    expect((await agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey: 'k1' } }, user())).errors).toBeUndefined();
    const taken = await agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey: 'k1' } }, user());
    expect(codes(taken)).toEqual(['CONFLICT']);
    expect(taken.errors![0]!.message).toMatch(/already booked/);
    expect(codes(await agent.gql<Data>(BOOK, { input: { slotId: randomUUID(), clientKey: 'k' } }, user()))).toEqual(['NOT_FOUND']);
    expect(codes(await agent.gql<Data>(BOOK, { input: { slotId: 'not-a-uuid', clientKey: 'k' } }, user()))).toEqual(['NOT_FOUND']);
    const pastId = randomUUID();
    await agent.database.rows(sql`insert into "agent".slots (id, practitioner_id, starts_at, ends_at) values (${pastId}, ${SEED_PRACTITIONERS[0].id}, now() - interval '1 hour', now() - interval '30 minutes')`);
    const past = await agent.gql<Data>(BOOK, { input: { slotId: pastId, clientKey: 'k' } }, user());
    expect([codes(past), past.errors![0]!.extensions!.field]).toEqual([['BAD_USER_INPUT'], 'input.slotId']);
    const other = await freshSlot();
    for (const clientKey of ['', ' ', 'x'.repeat(201)]) {
      const bad = await agent.gql<Data>(BOOK, { input: { slotId: other.id, clientKey } }, user());
      expect([codes(bad), bad.errors![0]!.extensions!.field]).toEqual([['BAD_USER_INPUT'], 'input.clientKey']);
    }
    expect(codes(await agent.gql<Data>(BOOK, { input: { slotId: other.id, clientKey: 'k' } }))).toEqual(['UNAUTHENTICATED']);
    expect((await bookedRows(other.id))[0]!.n).toBe(0);
  });

  it('fifty users booking one slot at once over HTTP: exactly one booking, 49 CONFLICTs', async () => {
    const slot = await freshSlot();
    const users = Array.from({ length: 50 }, user);
    const answers = await Promise.all(users.map((u, i) => agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey: `rush-${i}` } }, u)));
    const won = answers.filter((a) => a.data?.bookAppointment);
    const refused = answers.filter((a) => codes(a).join() === 'CONFLICT');
    console.info(`50 concurrent bookings of one slot: ${won.length} booked, ${refused.length} CONFLICT, other: ${answers.length - won.length - refused.length}`);
    expect([won.length, refused.length]).toEqual([1, 49]);
    for (const answer of refused) expect(answer.data?.bookAppointment ?? null).toBeNull();
    expect((await bookedRows(slot.id))[0]!.n).toBe(1);
    const [row] = await agent.database.rows<{ n: number }>(sql`select count(*)::int as n from "agent".appointments where slot_id = ${slot.id}`);
    expect(row!.n).toBe(1);
  });

  it('the database, not a check before it, is what refuses: fifty concurrent INSERTs of one slot store one row', async () => {
    const slot = await freshSlot();
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => insertAppointment(agent.database, randomUUID(), slot.id, `raw-${i}`)));
    expect(ids.filter(Boolean)).toHaveLength(1);
    expect((await bookedRows(slot.id))[0]!.n).toBe(1);
  });

  it('one user retrying one booking concurrently under one key gets one booking, the same id every time', async () => {
    const me = user();
    const slot = await freshSlot();
    const answers = await Promise.all(Array.from({ length: 10 }, () => agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey: 'retry' } }, me)));
    expect(answers.flatMap((a) => codes(a))).toEqual([]);
    expect(new Set(answers.map((a) => a.data!.bookAppointment.id)).size).toBe(1);
    expect((await bookedRows(slot.id))[0]!.n).toBe(1);
  });

  it('book (for the tools) answers in the tool’s shape and is CONFLICT when the slot is taken', async () => {
    const slot = await freshSlot();
    const me = randomUUID();
    const booked = await service.book(me, { slotId: slot.id, clientKey: 'tool-1' });
    expect(booked).toEqual({ id: expect.any(String), slotId: slot.id, startsAt: slot.startsAt, practitionerName: slot.practitionerName, status: 'BOOKED' });
    expect(await service.book(me, { slotId: slot.id, clientKey: 'tool-1' })).toEqual(booked);
    await expect(service.book(randomUUID(), { slotId: slot.id, clientKey: 'tool-1' })).rejects.toMatchObject({ extensions: { code: 'CONFLICT' } });
  });
});

describe('rate limit', () => {
  it('bookAppointment allows 20 calls a minute per user, then RATE_LIMITED; another user is unaffected', async () => {
    const me = user();
    const calls = await Promise.all(Array.from({ length: 21 }, () => agent.gql<Data>(BOOK, { input: { slotId: randomUUID(), clientKey: 'limit' } }, me)));
    const seen = calls.map((c) => codes(c).join());
    expect(seen.filter((c) => c === 'NOT_FOUND')).toHaveLength(20);
    expect(seen.filter((c) => c === 'RATE_LIMITED')).toHaveLength(1);
    expect(codes(await agent.gql<Data>(BOOK, { input: { slotId: randomUUID(), clientKey: 'limit' } }, user()))).toEqual(['NOT_FOUND']);
  });
});

describe('cancelAppointment', () => {
  it('cancels the owner’s appointment and frees the slot for someone else; again returns it unchanged; others get NOT_FOUND', async () => {
    const me = user();
    const slot = await freshSlot();
    const { id } = (await agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey: 'c' } }, me)).data!.bookAppointment;
    const stranger = await agent.gql<Data>(CANCEL, { input: { appointmentId: id } }, user());
    expect(codes(stranger)).toEqual(['NOT_FOUND']);
    expect(codes(await agent.gql<Data>(CANCEL, { input: { appointmentId: randomUUID() } }, me))).toEqual(['NOT_FOUND']);
    expect(codes(await agent.gql<Data>(CANCEL, { input: { appointmentId: 'nope' } }, me))).toEqual(['NOT_FOUND']);
    expect((await bookedRows(slot.id))[0]!.n).toBe(1);

    const cancelled = await agent.gql<Data>(CANCEL, { input: { appointmentId: id, clientKey: 'cancel-1' } }, me);
    expect(cancelled.data!.cancelAppointment).toMatchObject({ id, status: 'CANCELLED', cancelledAt: expect.any(String) });
    expect((await service.openSlots({ first: 100 })).map((s) => s.id)).toContain(slot.id);
    const again = await agent.gql<Data>(CANCEL, { input: { appointmentId: id, clientKey: 'cancel-1' } }, me);
    expect(again.data!.cancelAppointment).toEqual(cancelled.data!.cancelAppointment);
    expect((await agent.gql<Data>(CANCEL, { input: { appointmentId: id } }, me)).data!.cancelAppointment).toEqual(cancelled.data!.cancelAppointment);

    // The booking key still answers with the (cancelled) booking; someone else books the freed slot.
    expect((await agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey: 'c' } }, me)).data!.bookAppointment).toMatchObject({ id, status: 'CANCELLED' });
    const rebooked = await agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey: 'c' } }, user());
    expect(rebooked.data!.bookAppointment.status).toBe('BOOKED');

    // The cancel key of one appointment cannot cancel another.
    const second = await freshSlot();
    const other = (await agent.gql<Data>(BOOK, { input: { slotId: second.id, clientKey: 'c2' } }, me)).data!.bookAppointment;
    const misuse = await agent.gql<Data>(CANCEL, { input: { appointmentId: other.id, clientKey: 'cancel-1' } }, me);
    expect([codes(misuse), misuse.errors![0]!.extensions!.field]).toEqual([['BAD_USER_INPUT'], 'input.clientKey']);
    expect((await bookedRows(second.id))[0]!.n).toBe(1);
  });
});

describe('who reads appointments', () => {
  it('the owner and holders of health:read:any; another user FORBIDDEN and nothing', async () => {
    const me = user();
    const slot = await freshSlot();
    await agent.gql<Data>(BOOK, { input: { slotId: slot.id, clientKey: 'r' } }, me);
    const stranger = await agent.gql<Data>(MINE, { id: me.id }, user());
    expect(codes(stranger)).toEqual(['FORBIDDEN']);
    expect(stranger.data!._entities[0].appointments).toBeNull();
    const clinician = await agent.gql<Data>(MINE, { id: me.id }, { id: randomUUID(), roles: ['USER', 'CLINICIAN'] });
    expect(clinician.data!._entities[0].appointments.edges).toHaveLength(1);
  });

  it('reads 2 and 20 users’ appointments with their practitioners and slots in the same statements', async () => {
    const users = Array.from({ length: 20 }, user);
    const open = await service.openSlots({ first: 100, from: new Date(Date.now() + 10 * 86_400_000).toISOString() });
    await Promise.all(users.map((u, i) => agent.gql<Data>(BOOK, { input: { slotId: open[i]!.id, clientKey: 'batch' } }, u)));
    const clinician = { id: randomUUID(), roles: ['USER', 'CLINICIAN'] };
    const QUERY = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on User {
      appointments(first: 5) { edges { node { id startsAt practitioner { name } slot { id practitioner { title } } } } } } } }`;
    const counts = [];
    for (const n of [2, 20]) {
      const representations = users.slice(0, n).map((u) => ({ __typename: 'User', id: u.id }));
      const { result, statements } = await agent.countStatements(() => agent.gql<Data>(QUERY, { representations }, clinician));
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities.map((u: Data) => u.appointments.edges.length)).toEqual(Array(n).fill(1));
      for (const u of result.data!._entities) expect(u.appointments.edges[0].node.practitioner.name).toEqual(expect.any(String));
      counts.push(statements);
    }
    // appointment pages, practitioners by id, and the audit INSERT.
    expect(counts).toEqual([3, 3]);
  });
});

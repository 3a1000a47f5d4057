import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileChanges } from '../src/service/profile.js';
import { startHealth, type Health } from './harness.js';

let health: Health;
beforeAll(async () => {
  health = await startHealth();
});
afterAll(async () => {
  await health?.close();
});

const UPDATE = /* GraphQL */ `
  mutation ($input: UpdateHealthProfileInput!) {
    updateHealthProfile(input: $input) { id sex birthDate heightCm bloodType conditions updatedAt }
  }
`;
const PROFILE_OF_USER = /* GraphQL */ `
  query ($id: ID!) { _entities(representations: [{ __typename: "User", id: $id }]) { ... on User { healthProfile { id sex heightCm conditions } } } }
`;
const PROFILE_ENTITY = /* GraphQL */ `
  query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on HealthProfile { id bloodType } } }
`;

interface Profile {
  id: string;
  sex: string | null;
  birthDate: string | null;
  heightCm: number | null;
  bloodType: string | null;
  conditions: string[];
  updatedAt: string;
}

describe('updateHealthProfile', () => {
  it('creates the caller’s profile, changes given fields, keeps omitted ones and clears nulls', async () => {
    const user = { id: randomUUID() };
    const created = await health.gql<{ updateHealthProfile: Profile }>(
      UPDATE,
      { input: { sex: 'FEMALE', birthDate: '1988-02-29', heightCm: 165.5, conditions: [' hypertension ', 'hypertension', 'asthma'] } },
      user,
    );
    expect(created.errors).toBeUndefined();
    expect(created.data?.updateHealthProfile).toMatchObject({
      id: user.id,
      sex: 'FEMALE',
      birthDate: '1988-02-29',
      heightCm: 165.5,
      bloodType: null,
      conditions: ['hypertension', 'asthma'],
    });

    const changed = await health.gql<{ updateHealthProfile: Profile }>(UPDATE, { input: { bloodType: 'O_NEGATIVE', heightCm: null } }, user);
    expect(changed.data?.updateHealthProfile).toMatchObject({ sex: 'FEMALE', birthDate: '1988-02-29', heightCm: null, bloodType: 'O_NEGATIVE', conditions: ['hypertension', 'asthma'] });
    expect(Date.parse(changed.data!.updateHealthProfile.updatedAt)).toBeGreaterThanOrEqual(Date.parse(created.data!.updateHealthProfile.updatedAt));

    const read = await health.gql<{ _entities: Array<{ healthProfile: Partial<Profile> | null }> }>(PROFILE_OF_USER, { id: user.id }, user);
    expect(read.data?._entities[0]?.healthProfile).toEqual({ id: user.id, sex: 'FEMALE', heightCm: null, conditions: ['hypertension', 'asthma'] });

    const cleared = await health.gql<{ updateHealthProfile: Profile }>(UPDATE, { input: { conditions: null } }, user);
    expect(cleared.data?.updateHealthProfile.conditions).toEqual([]);
  });

  it('is null (no error) for a user who never saved one', async () => {
    const user = { id: randomUUID() };
    const read = await health.gql<{ _entities: Array<{ healthProfile: unknown }> }>(PROFILE_OF_USER, { id: user.id }, user);
    expect(read.errors).toBeUndefined();
    expect(read.data?._entities[0]?.healthProfile).toBeNull();
  });

  it.each([
    [{ heightCm: 10 }, 'input.heightCm', 'received 10'],
    [{ birthDate: '2001-02-29' }, 'input.birthDate', '"2001-02-29"'],
    [{ birthDate: '3000-01-01' }, 'input.birthDate', 'YYYY-MM-DD'],
    [{ conditions: ['ok', ' '] }, 'input.conditions[1]', '1–100 characters'],
    [{ conditions: Array.from({ length: 51 }, (_, i) => `c${i}`) }, 'input.conditions', 'received 51'],
    [{}, 'input', 'at least one'],
  ])('refuses %j', async (input, field, message) => {
    const result = await health.gql(UPDATE, { input }, { id: randomUUID() });
    expect(result.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    expect(result.errors?.[0]?.message).toContain(message);
  });

  it('requires a signed-in caller', async () => {
    const result = await health.gql(UPDATE, { input: { sex: 'MALE' } });
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('HealthProfile entity', () => {
  it('resolves for the owner and health:read:any; FORBIDDEN for others', async () => {
    const owner = { id: randomUUID() };
    await health.gql(UPDATE, { input: { bloodType: 'AB_POSITIVE' } }, owner);
    const representations = [{ __typename: 'HealthProfile', id: owner.id }];
    const mine = await health.gql<{ _entities: unknown[] }>(PROFILE_ENTITY, { representations }, owner);
    expect(mine.data?._entities).toEqual([{ id: owner.id, bloodType: 'AB_POSITIVE' }]);
    const admin = await health.gql<{ _entities: unknown[] }>(PROFILE_ENTITY, { representations }, { id: randomUUID(), roles: ['ADMIN'] });
    expect(admin.data?._entities).toEqual([{ id: owner.id, bloodType: 'AB_POSITIVE' }]);
    const other = await health.gql<{ _entities: unknown[] }>(PROFILE_ENTITY, { representations }, { id: randomUUID() });
    expect(other.data?._entities).toEqual([null]);
    expect(other.errors?.[0]).toMatchObject({ path: ['_entities', 0], extensions: { code: 'FORBIDDEN' } });
  });
});

describe('profileChanges', () => {
  it('accepts today as a birth date and rejects tomorrow', () => {
    const today = new Date('2026-03-01T10:00:00Z');
    expect(profileChanges({ birthDate: '2026-03-01' }, today)).toEqual({ birthDate: '2026-03-01' });
    expect(() => profileChanges({ birthDate: '2026-03-02' }, today)).toThrow(/received "2026-03-02"/);
    expect(() => profileChanges({ birthDate: '1899-12-31' }, today)).toThrow(/from 1900-01-01/);
  });
});

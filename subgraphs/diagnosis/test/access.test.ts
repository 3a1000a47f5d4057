import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningJwk, signingKeyFromJwk } from '@suoke/platform';
import { testToken } from '@suoke/platform/testing';
import { QUESTIONNAIRE, answersLeaningTo, codes, startDiagnosis, type Diagnosis, type QuestionView } from './harness.js';

let diagnosis: Diagnosis;
const owner = { id: randomUUID() };
const stranger = { id: randomUUID() };
const clinician = { id: randomUUID(), roles: ['USER', 'CLINICIAN'] };
let openId: string;
let completedId: string;

type Data = Record<string, any>;

beforeAll(async () => {
  diagnosis = await startDiagnosis();
  const questions = (await diagnosis.gql<{ constitutionQuestionnaire: QuestionView[] }>(QUESTIONNAIRE)).data!.constitutionQuestionnaire;
  const start = async () => (await diagnosis.gql<Data>(`mutation { startConsultation { id } }`, {}, owner)).data!.startConsultation.id as string;
  openId = await start();
  completedId = await start();
  await diagnosis.gql(
    `mutation ($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }`,
    { input: { consultationId: completedId, answers: answersLeaningTo(questions, 'PHLEGM_DAMP') } },
    owner,
  );
  const completed = await diagnosis.gql(`mutation ($id: ID!) { completeConsultation(id: $id) { id } }`, { id: completedId }, owner);
  expect(completed.errors).toBeUndefined();
});
afterAll(async () => {
  await diagnosis?.close();
});

const CONSULTATION = `query ($id: ID!) { consultation(id: $id) { id status } }`;
const USER = /* GraphQL */ `
  query ($id: ID!) {
    _entities(representations: [{ __typename: "User", id: $id }]) {
      ... on User { id consultations(first: 5) { edges { node { id status } } } latestReport { primaryConstitution { code } } }
    }
  }
`;
const ENTITY = `query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Consultation { id status } } }`;

describe('anonymous callers', () => {
  it('read the questionnaire', async () => {
    const result = await diagnosis.gql<Data>(QUESTIONNAIRE);
    expect(result.errors).toBeUndefined();
    expect(result.data!.constitutionQuestionnaire.length).toBeGreaterThan(50);
  });

  it.each([
    ['startConsultation', `mutation { startConsultation { id } }`, {}],
    ['completeConsultation', `mutation ($id: ID!) { completeConsultation(id: $id) { id } }`, { id: randomUUID() }],
    ['consultation', CONSULTATION, { id: randomUUID() }],
  ])('are UNAUTHENTICATED on %s', async (_name, query, variables) => {
    const result = await diagnosis.gql(query, variables);
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
  });

  it('get null user fields with UNAUTHENTICATED, and no consultation references', async () => {
    const user = await diagnosis.gql<Data>(USER, { id: owner.id });
    expect(user.data!._entities[0]).toEqual({ id: owner.id, consultations: null, latestReport: null });
    expect(codes(user)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    const entity = await diagnosis.gql<Data>(ENTITY, { representations: [{ __typename: 'Consultation', id: openId }] });
    expect(entity.data!._entities).toEqual([null]);
    expect(codes(entity)).toEqual(['UNAUTHENTICATED']);
  });

  it('with a bad or expired token are refused outright', async () => {
    for (const token of ['not-a-jwt', await testToken(owner, { ttlSeconds: -60 }), await testToken(owner, { key: signingKeyFromJwk(generateSigningJwk()) })]) {
      const response = await fetch(diagnosis.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: CONSULTATION, variables: { id: openId } }),
      });
      const body = (await response.json()) as Data;
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(body.data ?? null).toBeNull();
    }
  });
});

describe('another user', () => {
  it('gets NOT_FOUND for the owner’s consultation, exactly as for one that does not exist', async () => {
    const foreign = await diagnosis.gql(CONSULTATION, { id: openId }, stranger);
    const unknownId = randomUUID();
    const unknown = await diagnosis.gql(CONSULTATION, { id: unknownId }, stranger);
    expect(codes(foreign)).toEqual(['NOT_FOUND']);
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    expect(foreign.errors![0]!.message).toBe(unknown.errors![0]!.message.replace(unknownId, openId));
    expect(codes(await diagnosis.gql(CONSULTATION, { id: 'not-a-uuid' }, stranger))).toEqual(['NOT_FOUND']);
  });

  it.each([
    ['submitInspection', `mutation ($id: ID!) { submitInspection(input: { consultationId: $id, complexion: NORMAL, tongue: { bodyColour: RED, coatingColour: WHITE, coatingThickness: THIN, moisture: NORMAL, teethMarks: false, cracks: false, swollen: false } }) { id } }`],
    ['submitListening', `mutation ($id: ID!) { submitListening(input: { consultationId: $id, voiceVolume: LOW, breathless: true, cough: NONE, odour: NONE }) { id } }`],
    ['completeConsultation', `mutation ($id: ID!) { completeConsultation(id: $id) { id } }`],
    ['cancelConsultation', `mutation ($id: ID!) { cancelConsultation(id: $id) { id } }`],
  ])('cannot %s the owner’s consultation (NOT_FOUND, nothing changes)', async (_name, mutation) => {
    const result = await diagnosis.gql(mutation, { id: openId }, stranger);
    expect(codes(result)).toEqual(['NOT_FOUND']);
    const read = await diagnosis.gql<Data>(`query ($id: ID!) { consultation(id: $id) { status inspection { complexion } listening { cough } } }`, { id: openId }, owner);
    expect(read.data!.consultation).toEqual({ status: 'OPEN', inspection: null, listening: null });
  });

  it('gets FORBIDDEN and null for the owner’s user fields', async () => {
    const result = await diagnosis.gql<Data>(USER, { id: owner.id }, stranger);
    expect(result.data!._entities[0]).toEqual({ id: owner.id, consultations: null, latestReport: null });
    expect(codes(result)).toEqual(['FORBIDDEN', 'FORBIDDEN']);
  });

  it('gets FORBIDDEN for a reference to the owner’s consultation, null for an unknown one, per item', async () => {
    const representations = [openId, randomUUID(), 'nope'].map((id) => ({ __typename: 'Consultation', id }));
    const result = await diagnosis.gql<Data>(ENTITY, { representations }, stranger);
    expect(result.data!._entities).toEqual([null, null, null]);
    expect(codes(result)).toEqual(['FORBIDDEN']);
    expect(result.errors![0]!.path).toEqual(['_entities', 0]);
  });
});

describe('the owner and holders of health:read:any', () => {
  it('the owner reads their user fields and references', async () => {
    const result = await diagnosis.gql<Data>(USER, { id: owner.id }, owner);
    expect(result.errors).toBeUndefined();
    // Both started within moments of each other: the order is pinned by the pagination test.
    expect(result.data!._entities[0].consultations.edges.map((e: Data) => e.node)).toEqual(
      expect.arrayContaining([
        { id: completedId, status: 'COMPLETED' },
        { id: openId, status: 'OPEN' },
      ]),
    );
    expect(result.data!._entities[0].consultations.edges).toHaveLength(2);
    expect(result.data!._entities[0].latestReport).toEqual({ primaryConstitution: { code: 'PHLEGM_DAMP' } });
    const entity = await diagnosis.gql<Data>(ENTITY, { representations: [{ __typename: 'Consultation', id: openId }] }, owner);
    expect(entity.data!._entities).toEqual([{ id: openId, status: 'OPEN' }]);
  });

  it('a clinician reads the user fields and references, but not through the owner-only root field', async () => {
    const result = await diagnosis.gql<Data>(USER, { id: owner.id }, clinician);
    expect(result.errors).toBeUndefined();
    expect(result.data!._entities[0].consultations.edges).toHaveLength(2);
    const entity = await diagnosis.gql<Data>(ENTITY, { representations: [{ __typename: 'Consultation', id: completedId }] }, clinician);
    expect(entity.data!._entities).toEqual([{ id: completedId, status: 'COMPLETED' }]);
    expect(codes(await diagnosis.gql(CONSULTATION, { id: openId }, clinician))).toEqual(['NOT_FOUND']);
  });

  it('a user without consultations has an empty list and no latest report', async () => {
    const result = await diagnosis.gql<Data>(USER, { id: stranger.id }, stranger);
    expect(result.data!._entities[0]).toEqual({ id: stranger.id, consultations: { edges: [] }, latestReport: null });
  });
});

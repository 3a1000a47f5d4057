import { randomUUID } from 'node:crypto';
import type { Stack } from './harness.js';

// People for the consent tests (issue 20): a registered user with a week's observations, a health profile (with a
// free-text condition that must never leave its subgraph) and a completed consultation whose report leans
// YANG_DEFICIENT. Shared by the delegated-token tests and the agents' personal replies.

type Gql = (token: string | undefined, query: string, variables?: Record<string, unknown>) => Promise<Record<string, any>>;

/** A GraphQL call through the stack's gateway that fails the test on any error. */
export function strictQuery(stack: Stack): Gql {
  return async (token, query, variables = {}) => {
    const response = await stack.query(query, variables, token);
    if (response.errors) throw new Error(`${query.slice(0, 80)}: ${JSON.stringify(response.errors)}`);
    return response.data as Record<string, any>;
  };
}

export async function registerUser(gql: Gql, name: string): Promise<{ id: string; token: string }> {
  const data = await gql(undefined, 'mutation($input: RegisterInput!) { register(input: $input) { accessToken user { id } } }', {
    input: { email: `${name}-${randomUUID()}@example.com`, password: 'consent-e2e-password-2026', displayName: `${name}-display-name` },
  });
  return { id: data.register.user.id as string, token: data.register.accessToken as string };
}

/** Records the user's data; returns the id of the report their consultation produced. */
export async function seedPersonalData(gql: Gql, user: { token: string }, weight: number): Promise<string> {
  await gql(user.token, 'mutation($input: [ObservationInput!]!) { recordObservations(input: $input) { inserted } }', {
    input: [
      { externalId: `w-${randomUUID()}`, type: 'WEIGHT', value: weight, recordedAt: new Date(Date.now() - 3_600_000).toISOString() },
      { externalId: `hr-${randomUUID()}`, type: 'HEART_RATE', value: 64, recordedAt: new Date(Date.now() - 7_200_000).toISOString() },
      { externalId: `hr-${randomUUID()}`, type: 'HEART_RATE', value: 80, recordedAt: new Date(Date.now() - 60_000).toISOString() },
    ],
  });
  await gql(user.token, 'mutation($input: UpdateHealthProfileInput!) { updateHealthProfile(input: $input) { id } }', {
    input: { sex: 'FEMALE', birthDate: '1987-03-14', heightCm: 163.7, bloodType: 'AB_NEGATIVE', conditions: ['free-text-condition-9f1c'] },
  });
  const questions = (await gql(undefined, '{ constitutionQuestionnaire { id constitution { code } } }')).constitutionQuestionnaire as Array<{ id: string; constitution: { code: string } }>;
  const started = await gql(user.token, 'mutation { startConsultation { id } }');
  const consultationId = started.startConsultation.id as string;
  const answers = questions.map((q) => ({ questionId: q.id, value: q.constitution.code === 'YANG_DEFICIENT' ? 5 : 1 }));
  await gql(user.token, 'mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { id } }', { input: { consultationId, answers } });
  const completed = await gql(user.token, 'mutation($id: ID!) { completeConsultation(id: $id) { report { id } } }', { id: consultationId });
  return completed.completeConsultation.report.id as string;
}

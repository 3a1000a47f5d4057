import { startTestSubgraph } from '@suoke/platform/testing';
import { definition } from '../src/server.js';

export interface GqlError {
  message: string;
  path?: Array<string | number>;
  extensions?: { code?: string; field?: string; [key: string]: unknown };
}

export interface GqlResponse<T = Record<string, any>> {
  status: number;
  data: T | null | undefined;
  errors: GqlError[] | undefined;
}

/** The user subgraph on port 0 over a fresh migrated database, called as the gateway calls it. */
export async function startUserSubgraph(env?: Record<string, string>) {
  const subgraph = await startTestSubgraph(definition, env ? { env } : {});
  return {
    ...subgraph,
    testDb: subgraph.testDatabase,
    gql: <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string) =>
      subgraph.gql<T>(query, variables, token) as Promise<GqlResponse<T>>,
  };
}

export type UserHarness = Awaited<ReturnType<typeof startUserSubgraph>>;

/** The codes of the errors, keyed by their path (`users`, `_entities.0.email`). */
export function codesByPath(errors: GqlError[] | undefined): Record<string, string> {
  return Object.fromEntries((errors ?? []).map((e) => [(e.path ?? []).join('.'), e.extensions?.code ?? 'NO_CODE']));
}

export const AUTH_FIELDS = 'accessToken refreshToken expiresIn user { id displayName locale roles }';

export const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { ${AUTH_FIELDS} } }`;
export const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { ${AUTH_FIELDS} } }`;
export const REFRESH = `mutation($token: String!) { refreshToken(token: $token) { ${AUTH_FIELDS} } }`;
export const LOGOUT = `mutation($token: String!) { logout(refreshToken: $token) }`;
export const ME = '{ me { id email displayName locale roles createdAt } }';

export const PASSWORD = 'correct-horse-battery-9';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  user: { id: string; displayName: string; locale: string; roles: string[] };
}

export async function register(h: UserHarness, email: string, displayName = 'Demo', password = PASSWORD): Promise<Tokens> {
  const res = await h.gql<{ register: Tokens }>(REGISTER, { input: { email, password, displayName } });
  if (!res.data?.register) throw new Error(`register ${email} failed: ${JSON.stringify(res.errors)}`);
  return res.data.register;
}

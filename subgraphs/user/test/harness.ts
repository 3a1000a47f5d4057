import { createTestDatabase, gatewayHeaders, TEST_GATEWAY_SECRET, type TestDatabase } from '@suoke/platform/testing';
import { createUserSubgraph, loadUserConfig, migrate } from '../src/server.js';

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

export interface UserHarness {
  testDb: TestDatabase;
  url: string;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse<T>>;
  close(): Promise<void>;
}

/** The user subgraph over HTTP on port 0, against a fresh migrated database, called as the gateway calls it. */
export async function startUserSubgraph(): Promise<UserHarness> {
  const testDb = await createTestDatabase('user');
  await migrate(testDb.database);
  const subgraph = createUserSubgraph({ config: loadUserConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'test', GATEWAY_SECRET: TEST_GATEWAY_SECRET }), database: testDb.database });
  const { url } = await subgraph.listen(0);
  return {
    testDb,
    url,
    async gql(query, variables, token) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...gatewayHeaders(), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
      });
      const body = (await res.json()) as { data?: any; errors?: GqlError[] };
      return { status: res.status, data: body.data, errors: body.errors };
    },
    async close() {
      await subgraph.stop();
      await testDb.drop();
    },
  };
}

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

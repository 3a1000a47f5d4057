import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, loadGatewayConfig } from '../gateway/src/server.js';
import { codes, post, repoRoot, startStack, type GraphQLResponse, type Stack } from './harness.js';

// Sessions (issue 18, Tokens): refresh rotation with a grace window for retries, and logout that
// ends the session's access tokens at the gateway at once. Everything over HTTP through the gateway.

const PASSWORD = 'correct-horse-battery-9';
const SECRET = 'sessions-test-gateway-secret-0123';
const FIELDS = 'accessToken refreshToken user { id }';
const REGISTER = `mutation($input: RegisterInput!) { register(input: $input) { ${FIELDS} } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { ${FIELDS} } }`;
const REFRESH = `mutation($token: String!) { refreshToken(token: $token) { ${FIELDS} } }`;
const LOGOUT = 'mutation($token: String!) { logout(refreshToken: $token) }';
const ME = '{ me { id } }';
const ENDED = /session of this access token has ended/;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  user: { id: string };
}

let stack: Stack;
let seq = 0;

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { GATEWAY_SECRET: SECRET }, subgraphEnv: { GATEWAY_SECRET: SECRET } });
});
afterAll(async () => {
  await stack?.stop();
});

async function signUp(via = stack.gatewayUrl): Promise<Tokens & { email: string }> {
  seq += 1;
  const email = `session-${seq}-${Date.now()}@example.com`;
  const response = await post<{ register: Tokens }>(via, { query: REGISTER, variables: { input: { email, password: PASSWORD, displayName: `S${seq}` } } });
  expect(response.errors).toBeUndefined();
  return { ...response.data!.register, email };
}

const refresh = (token: string, via = stack.gatewayUrl) => post<{ refreshToken: Tokens | null }>(via, { query: REFRESH, variables: { token } });
const logout = (token: string, via = stack.gatewayUrl) => post<{ logout: boolean }>(via, { query: LOGOUT, variables: { token } });
const me = (token: string, via = stack.gatewayUrl) => post<{ me: { id: string } | null }>(via, { query: ME }, token);
const sidOf = (accessToken: string) => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')).sid as string;

function refused(response: GraphQLResponse<unknown>) {
  expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  expect((response.data as Record<string, unknown> | null | undefined)?.refreshToken ?? null).toBeNull();
}

/** Asks until `me` with the token is refused, for up to `ms`: how long a logout takes to reach that gateway. */
async function refusedWithin(token: string, via: string, ms = 1_000): Promise<GraphQLResponse<unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const response = await me(token, via);
    if (response.errors || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Moves the moment the token's family was last used back by `seconds`, as if that much time had passed. */
async function age(familyId: string, seconds: number) {
  await stack.databases.user!.database.rows(
    sql`update "user".refresh_tokens set used_at = used_at - ${seconds} * interval '1 second' where family_id = ${familyId} and used_at is not null`,
  );
}

describe('refresh rotation', () => {
  it('access tokens name their sign-in (sid) and refresh rotates within the same sign-in', async () => {
    const session = await signUp();
    const sid = sidOf(session.accessToken);
    expect(sid).toMatch(/^[0-9a-f-]{36}$/);
    const rotated = await refresh(session.refreshToken);
    expect(rotated.errors).toBeUndefined();
    expect(rotated.data!.refreshToken!.refreshToken).not.toBe(session.refreshToken);
    expect(sidOf(rotated.data!.refreshToken!.accessToken)).toBe(sid);
    expect((await me(rotated.data!.refreshToken!.accessToken)).data?.me?.id).toBe(session.user.id);
  });

  it('a retry within the grace window gets the same successor, and the sign-in stays valid', async () => {
    const session = await signUp();
    const first = (await refresh(session.refreshToken)).data!.refreshToken!;
    const retry = await refresh(session.refreshToken);
    expect(retry.errors).toBeUndefined();
    expect(retry.data!.refreshToken!.refreshToken).toBe(first.refreshToken);
    expect((await me(retry.data!.refreshToken!.accessToken)).data?.me?.id).toBe(session.user.id);
    // The successor rotates on as usual, and the first access token still works.
    const next = await refresh(first.refreshToken);
    expect(next.errors).toBeUndefined();
    expect((await me(first.accessToken)).data?.me?.id).toBe(session.user.id);
  });

  it('10 identical refreshes at once all get the same successor; the sign-in stays valid', async () => {
    const session = await signUp();
    const answers = await Promise.all(Array.from({ length: 10 }, () => refresh(session.refreshToken)));
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    const successors = new Set(answers.map((a) => a.data!.refreshToken!.refreshToken));
    expect(successors.size).toBe(1);
    const [successor] = [...successors] as [string];
    expect(successor).not.toBe(session.refreshToken);
    for (const answer of answers.slice(0, 3)) expect((await me(answer.data!.refreshToken!.accessToken)).data?.me?.id).toBe(session.user.id);
    // One successor was stored, not ten: it rotates once, and then it is spent.
    const next = await refresh(successor);
    expect(next.errors).toBeUndefined();
    const rows = await stack.databases.user!.database.rows<{ n: number }>(
      sql`select count(*)::int as n from "user".refresh_tokens where family_id = ${sidOf(session.accessToken)}`,
    );
    expect(rows[0]!.n).toBe(3);
  });

  it('reuse after the grace window revokes the whole sign-in, and its access tokens at once', async () => {
    const session = await signUp();
    const rotated = (await refresh(session.refreshToken)).data!.refreshToken!;
    expect((await me(rotated.accessToken)).data?.me?.id).toBe(session.user.id);
    await age(sidOf(session.accessToken), 31);
    refused(await refresh(session.refreshToken));
    // The legitimate holder's successor is revoked with it, and so are the sign-in's access tokens.
    refused(await refresh(rotated.refreshToken));
    const after = await refusedWithin(rotated.accessToken, stack.gatewayUrl);
    expect(codes(after)).toEqual(['UNAUTHENTICATED']);
    expect(after.errors?.[0]?.message).toMatch(ENDED);
  });

  it('reuse of a token whose successor has been used revokes the sign-in, even within the window', async () => {
    const session = await signUp();
    const second = (await refresh(session.refreshToken)).data!.refreshToken!;
    const third = (await refresh(second.refreshToken)).data!.refreshToken!;
    refused(await refresh(session.refreshToken));
    refused(await refresh(third.refreshToken));
    expect(codes(await me(third.accessToken))).toEqual(['UNAUTHENTICATED']);
  });

  it('claiming the token and storing its successor are one transaction: a failure between them loses nothing', async () => {
    const session = await signUp();
    const familyId = sidOf(session.accessToken);
    const db = stack.databases.user!.database;
    // The successor's insert fails (as a crash there would end the transaction).
    await db.exec(`
      create function "user".fail_refresh_insert() returns trigger language plpgsql as $$
      begin raise exception 'simulated failure after the claim'; end $$;
      create trigger fail_refresh_insert before insert on "user".refresh_tokens
        for each row when (new.family_id = '${familyId}') execute function "user".fail_refresh_insert();
    `);
    try {
      const failed = await refresh(session.refreshToken);
      expect(codes(failed)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(JSON.stringify(failed.errors)).not.toMatch(/simulated|refresh_tokens|trigger/);
    } finally {
      await db.exec(`drop trigger fail_refresh_insert on "user".refresh_tokens; drop function "user".fail_refresh_insert();`);
    }
    // The claim was rolled back with it: the same token still refreshes, once.
    const rows = await db.rows<{ used: boolean }>(sql`select used_at is not null as used from "user".refresh_tokens where family_id = ${familyId}`);
    expect(rows).toEqual([{ used: false }]);
    const retried = await refresh(session.refreshToken);
    expect(retried.errors).toBeUndefined();
    expect((await me(retried.data!.refreshToken!.accessToken)).data?.me?.id).toBe(session.user.id);
  });
});

describe('logout', () => {
  it("ends the session's access tokens at the gateway at once; the user's other sign-ins keep working", async () => {
    const session = await signUp();
    const other = (await post<{ login: Tokens }>(stack.gatewayUrl, { query: LOGIN, variables: { input: { email: session.email, password: PASSWORD } } })).data!.login;
    expect((await me(session.accessToken)).data?.me?.id).toBe(session.user.id);
    const ended = await logout(session.refreshToken);
    expect(ended.data).toEqual({ logout: true });
    // The user subgraph's word to the gateway stays between them.
    expect(ended.headers.get('x-suoke-session-ended')).toBeNull();

    const denied = await refusedWithin(session.accessToken, stack.gatewayUrl);
    expect(denied.status).toBe(401);
    expect(codes(denied)).toEqual(['UNAUTHENTICATED']);
    expect(denied.errors?.[0]?.message).toMatch(ENDED);
    expect(denied.data ?? null).toBeNull();
    // And nowhere else: the other sign-in of the same account is another session.
    expect((await me(other.accessToken)).data?.me?.id).toBe(session.user.id);
    refused(await refresh(session.refreshToken));
  });

  it('the user subgraph refuses the ended session too, even from the gateway', async () => {
    const session = await signUp();
    expect((await logout(session.refreshToken)).data).toEqual({ logout: true });
    const direct = await post(stack.subgraphUrls.user!, { query: ME }, session.accessToken, { 'x-gateway-secret': SECRET });
    expect(direct.status).toBe(401);
    expect(codes(direct)).toEqual(['UNAUTHENTICATED']);
    expect(direct.errors?.[0]?.message).toMatch(ENDED);
  });

  it('a client cannot end someone else\'s session by naming it in a header', async () => {
    const victim = await signUp();
    const attacker = await signUp();
    const until = String(Date.now() + 600_000);
    await post(stack.gatewayUrl, { query: ME }, attacker.accessToken, { 'x-suoke-session-ended': `${sidOf(victim.accessToken)} ${until}` });
    expect((await me(victim.accessToken)).data?.me?.id).toBe(victim.user.id);
  });
});

describe.skipIf(!process.env.REDIS_URL)('logout across gateway replicas (Redis)', () => {
  const replicas: { url: string; stop(): Promise<void> }[] = [];
  const startReplica = async () => {
    const gateway = createGateway({
      config: loadGatewayConfig({
        // Not about field usage (tests/usage.test.ts): no store, and never the repository's .data/gateway-usage.
        USAGE_RECORDING: 'off',
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        GATEWAY_SECRET: SECRET,
        REDIS_URL: process.env.REDIS_URL!,
        SUPERGRAPH_PATH: path.join(repoRoot, 'schema', 'supergraph.graphql'),
        TRUSTED_PROXY_HOPS: '1',
      }),
      subgraphUrls: stack.subgraphUrls,
    });
    const { url } = await gateway.listen(0, '127.0.0.1');
    const replica = { url, stop: () => gateway.stop() };
    replicas.push(replica);
    return replica;
  };
  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
  });

  it('a logout through gateway A is refused by gateway B within a second, though B had the token cached', async () => {
    const b = await startReplica();
    const session = await signUp();
    expect((await me(session.accessToken, b.url)).data?.me?.id).toBe(session.user.id);
    expect((await logout(session.refreshToken, stack.gatewayUrl)).data).toEqual({ logout: true });
    const denied = await refusedWithin(session.accessToken, b.url);
    expect(codes(denied)).toEqual(['UNAUTHENTICATED']);
    expect(denied.errors?.[0]?.message).toMatch(ENDED);
  });

  it('a gateway started after the logout loads the deny-list', async () => {
    const session = await signUp();
    expect((await logout(session.refreshToken)).data).toEqual({ logout: true });
    const late = await startReplica();
    const denied = await refusedWithin(session.accessToken, late.url);
    expect(codes(denied)).toEqual(['UNAUTHENTICATED']);
    expect(denied.errors?.[0]?.message).toMatch(ENDED);
  });
});

import { createRequire } from 'node:module';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { withAuthDirectives, type AuthContext, type AuthUser } from '../../src/auth/index.js';

// @apollo/subgraph is loaded by Node (CommonJS graphql) while vitest gives this file graphql's ESM build;
// executing with the ESM `graphql()` would reject the schema as coming "from another module or realm".
const { graphql } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const typeDefs = parse(/* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated", "@requiresScopes"])

  type Query {
    open: String
    secret: String @authenticated
    scoped: String @requiresScopes(scopes: [["a"], ["b", "c"]])
    note: Note
  }

  type Vault @key(fields: "id") @authenticated {
    id: ID!
    content: String
  }

  type Note {
    title: String
    private: String @authenticated
    computed: String @authenticated
  }
`);

const calls: string[] = [];
const resolvers = {
  Query: {
    open: () => 'open',
    secret: () => {
      calls.push('secret');
      return 'secret';
    },
    scoped: () => 'scoped',
    note: () => ({ title: 'title', private: 'private', computed: () => 'computed' }),
  },
  Vault: {
    __resolveReference: (ref: { id: string }) => {
      calls.push(`vault:${ref.id}`);
      return { id: ref.id, content: `content of ${ref.id}` };
    },
  },
};
const originalSecret = resolvers.Query.secret;
const schema = buildSubgraphSchema({ typeDefs, resolvers: withAuthDirectives(typeDefs, resolvers) as never });

const user = (scopes: string[]): AuthContext => ({ user: { id: 'u-1', roles: ['USER'], scopes } satisfies AuthUser });
const anonymous: AuthContext = {};

async function run(source: string, contextValue: AuthContext, variableValues?: Record<string, unknown>) {
  const result = (await graphql({ schema, source, contextValue, ...(variableValues ? { variableValues } : {}) })) as ExecutionResult<Record<string, unknown>>;
  // An error without a code shows as NO_CODE, so `toEqual({})` cannot overlook it.
  const codes = Object.fromEntries((result.errors ?? []).map((e) => [e.path?.join('.') ?? '', e.extensions.code ?? 'NO_CODE']));
  return { data: result.data, codes };
}

describe('withAuthDirectives', () => {
  it('denies an @authenticated field to an anonymous caller while siblings resolve', async () => {
    calls.length = 0;
    const { data, codes } = await run('{ open secret }', anonymous);
    expect(data).toEqual({ open: 'open', secret: null });
    expect(codes).toEqual({ secret: 'UNAUTHENTICATED' });
    expect(calls).not.toContain('secret');
  });

  it('lets any signed-in caller read an @authenticated field', async () => {
    const { data, codes } = await run('{ open secret }', user([]));
    expect(data).toEqual({ open: 'open', secret: 'secret' });
    expect(codes).toEqual({});
  });

  it('asks an anonymous caller to authenticate for a @requiresScopes field', async () => {
    const { data, codes } = await run('{ open scoped }', anonymous);
    expect(data).toEqual({ open: 'open', scoped: null });
    expect(codes).toEqual({ scoped: 'UNAUTHENTICATED' });
  });

  it.each([
    [['a'], true],
    [['b', 'c'], true],
    [['c', 'b', 'x'], true],
    [['b'], false],
    [['c'], false],
    [[], false],
    [['ab'], false],
  ])('applies @requiresScopes as OR of ANDs: scopes %j → allowed %s', async (scopes, allowed) => {
    const { data, codes } = await run('{ open scoped }', user(scopes));
    expect(data).toEqual({ open: 'open', scoped: allowed ? 'scoped' : null });
    expect(codes).toEqual(allowed ? {} : { scoped: 'FORBIDDEN' });
  });

  it('guards fields that have no resolver of their own', async () => {
    const anon = await run('{ note { title private } }', anonymous);
    expect(anon.data).toEqual({ note: { title: 'title', private: null } });
    expect(anon.codes).toEqual({ 'note.private': 'UNAUTHENTICATED' });
    const signedIn = await run('{ note { title private } }', user([]));
    expect(signedIn.data).toEqual({ note: { title: 'title', private: 'private' } });
  });

  it('resolves a guarded field without resolver the way graphql default resolution does (calls function properties)', async () => {
    // graphql's defaultFieldResolver calls a function-valued property; adding @authenticated must not change the value.
    const { data, codes } = await run('{ note { computed } }', user([]));
    expect(codes).toEqual({});
    expect(data).toEqual({ note: { computed: 'computed' } });
  });

  it('denies _entities of a type-level @authenticated entity to an anonymous caller without resolving it', async () => {
    calls.length = 0;
    const query = 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Vault { id content } } }';
    const r = [{ __typename: 'Vault', id: 'v1' }];
    const anon = await run(query, anonymous, { r });
    expect(Object.values(anon.codes)).toContain('UNAUTHENTICATED');
    expect(JSON.stringify(anon.data ?? null)).not.toContain('content of v1');
    expect(calls).not.toContain('vault:v1');

    const signedIn = await run(query, user([]), { r });
    expect(signedIn.codes).toEqual({});
    expect(signedIn.data).toEqual({ _entities: [{ id: 'v1', content: 'content of v1' }] });
    expect(calls).toContain('vault:v1');
  });

  it('returns a new resolver map and leaves the given one untouched', () => {
    const wrapped = withAuthDirectives(typeDefs, resolvers);
    expect(wrapped).not.toBe(resolvers);
    expect(resolvers.Query.secret).toBe(originalSecret);
    expect(wrapped.Query.secret).not.toBe(originalSecret);
    // Root fields are guarded against delegated tokens (delegated-reads.ts); for any other caller they answer as given.
    expect((wrapped.Query.open as (...a: unknown[]) => unknown)(undefined, {}, {}, undefined)).toBe('open');
  });

  it('refuses a malformed scopes argument when the schema is wrapped', () => {
    const bad = parse(`type Query { x: String @requiresScopes(scopes: ["a"]) }`);
    expect(() => withAuthDirectives(bad, {})).toThrow(/list of lists/);
  });
});

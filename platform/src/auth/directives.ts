import { defaultFieldResolver, type DocumentNode, type GraphQLFieldResolver, Kind, type DirectiveNode, type ValueNode } from 'graphql';
import { forbidden, unauthenticated } from '../errors.js';
import type { AuthContext } from './caller.js';
import { enforceDelegatedReads, readsOf } from './delegated-reads.js';

type Check = (ctx: AuthContext) => void;
type ResolverMap = Record<string, Record<string, unknown>>;

/**
 * Enforces the federation `@authenticated` and `@requiresScopes` directives that
 * Apollo Gateway itself ignores. Reads them from the subgraph SDL (on fields and
 * on object types) and wraps the matching resolvers, including an entity's
 * `__resolveReference`, so that a denied field is null with UNAUTHENTICATED or
 * FORBIDDEN while the rest of the response resolves. Then lets a delegated
 * token read only what the map's `delegatedReads` allowlist opens for its
 * grants (delegated-reads.ts; nothing when untagged). Returns a new resolver map.
 */
export function withAuthDirectives<R extends object>(typeDefs: DocumentNode, resolvers: R): R {
  const out: ResolverMap = {};
  for (const [typeName, value] of Object.entries(resolvers as ResolverMap)) out[typeName] = { ...value };
  for (const def of typeDefs.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const typeName = def.name.value;
    const typeCheck = checkFor(def.directives);
    for (const field of def.fields ?? []) {
      const checks = [typeCheck, checkFor(field.directives)].filter((c): c is Check => c !== undefined);
      if (checks.length === 0) continue;
      const typeResolvers = (out[typeName] ??= {});
      typeResolvers[field.name.value] = guard(typeResolvers[field.name.value], checks);
    }
    if (typeCheck && out[typeName]?.__resolveReference) {
      const inner = out[typeName].__resolveReference as (ref: unknown, ctx: AuthContext, info: unknown) => unknown;
      // Async so a denial rejects this one representation, not the whole _entities list.
      out[typeName].__resolveReference = async (ref: unknown, ctx: AuthContext, info: unknown) => {
        typeCheck(ctx);
        return inner(ref, ctx, info);
      };
    }
  }
  enforceDelegatedReads(typeDefs, out, readsOf(resolvers));
  return out as R;
}

function guard(existing: unknown, checks: Check[]): unknown {
  const wrap = (resolve: GraphQLFieldResolver<unknown, AuthContext>): GraphQLFieldResolver<unknown, AuthContext> =>
    (parent, args, ctx, info) => {
      for (const check of checks) check(ctx);
      return resolve(parent, args, ctx, info);
    };
  if (typeof existing === 'function') return wrap(existing as GraphQLFieldResolver<unknown, AuthContext>);
  if (existing && typeof existing === 'object' && 'subscribe' in existing) {
    // A Subscription field: checked when subscribing (a refusal opens no stream), and again for each event.
    const config = existing as { subscribe: GraphQLFieldResolver<unknown, AuthContext>; resolve?: GraphQLFieldResolver<unknown, AuthContext> };
    return { ...config, subscribe: wrap(config.subscribe), resolve: wrap(config.resolve ?? (defaultFieldResolver as GraphQLFieldResolver<unknown, AuthContext>)) };
  }
  if (existing && typeof existing === 'object' && 'resolve' in existing) {
    const config = existing as { resolve: GraphQLFieldResolver<unknown, AuthContext> };
    return { ...config, resolve: wrap(config.resolve) };
  }
  return wrap(defaultFieldResolver as GraphQLFieldResolver<unknown, AuthContext>);
}

function checkFor(directives: readonly DirectiveNode[] | undefined): Check | undefined {
  const checks: Check[] = [];
  for (const directive of directives ?? []) {
    if (directive.name.value === 'authenticated') {
      // A signed-in user: a service's token holds scopes for the fields it calls, never a user's data.
      checks.push((ctx) => {
        if (!ctx.user) throw unauthenticated();
        if (ctx.user.service !== undefined) throw forbidden();
      });
    } else if (directive.name.value === 'requiresScopes') {
      const arg = directive.arguments?.find((a) => a.name.value === 'scopes');
      const alternatives = arg ? scopeLists(arg.value) : [];
      checks.push((ctx) => {
        const user = ctx.user;
        if (!user) throw unauthenticated();
        if (!alternatives.some((all) => all.every((s) => user.scopes.includes(s)))) throw forbidden();
      });
    }
  }
  if (checks.length === 0) return undefined;
  return (ctx) => {
    for (const check of checks) check(ctx);
  };
}

function scopeLists(value: ValueNode): string[][] {
  if (value.kind !== Kind.LIST) throw new Error('@requiresScopes(scopes:) must be a list of lists of scopes');
  return value.values.map((inner) => {
    if (inner.kind !== Kind.LIST) throw new Error('@requiresScopes(scopes:) must be a list of lists of scopes');
    return inner.values.map((v) => {
      if (v.kind !== Kind.STRING) throw new Error('@requiresScopes scopes must be strings');
      return v.value;
    });
  });
}

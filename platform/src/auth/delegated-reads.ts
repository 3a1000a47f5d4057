import { defaultFieldResolver, Kind, type DocumentNode, type GraphQLFieldResolver, type TypeNode } from 'graphql';
import { AGENT_ACCESS_SCOPES, type AgentAccessScope } from './delegation.js';
import { forbidden } from '../errors.js';

/**
 * What a delegated token may read in one subgraph, by `Type.field` or by a
 * whole `Type`, each with the consent scopes that open it (any one of them).
 * Everything else is FORBIDDEN to such a token, every Mutation and
 * Subscription field included: a subgraph that declares nothing (knowledge,
 * agent) gives it nothing.
 *
 * A whole `Type` is for types reached only through an allowlisted entry (a
 * field, or the entity's own `_entities` resolution): its fields are not
 * wrapped at all, so the check costs nothing on the hot paths of other callers.
 */
export type DelegatedReads = Readonly<Record<string, readonly AgentAccessScope[]>>;

/** Any granted scope opens it (a delegated token always holds one): `Query.me`, `User.id`. */
export const ANY_GRANT: readonly AgentAccessScope[] = AGENT_ACCESS_SCOPES;

const READS = Symbol.for('suoke.delegatedReads');
const ROOTS = new Set(['Query', 'Mutation', 'Subscription']);

/** Tags a subgraph's resolver map with its allowlist; `withAuthDirectives` enforces it (an untagged map: nothing allowed). */
export function delegatedReads<R extends object>(resolvers: R, reads: DelegatedReads): R {
  return Object.assign(Object.create(null) as object, resolvers, { [READS]: reads }) as R;
}

export function readsOf(resolvers: object): DelegatedReads {
  return ((resolvers as Record<symbol, unknown>)[READS] as DelegatedReads | undefined) ?? {};
}

interface Grants {
  user?: { grants?: readonly AgentAccessScope[] | undefined } | undefined;
}
type ResolverMap = Record<string, Record<string, unknown>>;
interface TypeInfo {
  fields: Map<string, string>;
  entity: boolean;
}

const DENIED = 'A delegated token reads only the data its user granted';

/**
 * Wraps, in place, the resolvers a delegated token could reach: every root
 * field, every entity's `__resolveReference`, and every field of a type it can
 * reach through an allowlisted entry but that is not itself allowlisted. Other
 * callers (no `grants` on the user) pass through unchanged.
 */
export function enforceDelegatedReads(typeDefs: DocumentNode, out: ResolverMap, reads: DelegatedReads): void {
  const types = new Map<string, TypeInfo>();
  const unions = new Map<string, string[]>();
  for (const def of typeDefs.definitions) {
    if (def.kind === Kind.UNION_TYPE_DEFINITION || def.kind === Kind.UNION_TYPE_EXTENSION) {
      unions.set(def.name.value, [...(unions.get(def.name.value) ?? []), ...(def.types ?? []).map((t) => t.name.value)]);
    }
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const info = types.get(def.name.value) ?? { fields: new Map<string, string>(), entity: false };
    for (const field of def.fields ?? []) info.fields.set(field.name.value, namedType(field.type));
    info.entity ||= (def.directives ?? []).some(
      (d) => d.name.value === 'key' && !(d.arguments ?? []).some((a) => a.name.value === 'resolvable' && a.value.kind === Kind.BOOLEAN && !a.value.value),
    );
    types.set(def.name.value, info);
  }
  for (const coordinate of Object.keys(reads)) {
    const [typeName, fieldName] = coordinate.split('.');
    const info = types.get(typeName!);
    if (!info || (fieldName !== undefined && !info.fields.has(fieldName))) throw new Error(`delegated reads: ${coordinate} is not in this subgraph's schema`);
    if (typeName === 'Mutation' || typeName === 'Subscription') throw new Error(`delegated reads: ${coordinate}: a delegated token never writes nor subscribes`);
  }
  const scopesOf = (typeName: string, fieldName: string) => reads[`${typeName}.${fieldName}`] ?? reads[typeName];
  const entryScopes = (typeName: string): readonly AgentAccessScope[] | undefined => {
    if (reads[typeName]) return reads[typeName];
    const fieldScopes = Object.entries(reads).filter(([c]) => c.startsWith(`${typeName}.`)).flatMap(([, s]) => s);
    return fieldScopes.length > 0 ? [...new Set(fieldScopes)] : undefined;
  };

  // The types a delegated token can reach: from allowlisted root fields and entities, along allowlisted fields.
  const reachable = new Set<string>();
  const queue: string[] = [];
  const visit = (name: string) => {
    for (const member of unions.get(name) ?? [name]) if (types.has(member) && !reachable.has(member)) queue.push(member);
  };
  for (const [name, info] of types) {
    if (name === 'Query') for (const [field, returned] of info.fields) if (scopesOf(name, field)) visit(returned);
    if (info.entity && entryScopes(name)) visit(name);
  }
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (reachable.has(name)) continue;
    reachable.add(name);
    for (const [field, returned] of types.get(name)!.fields) if (scopesOf(name, field)) visit(returned);
  }

  for (const [name, info] of types) {
    const root = ROOTS.has(name);
    if (info.entity) {
      const resolvers = (out[name] ??= {});
      const inner = resolvers.__resolveReference as ((ref: unknown, ctx: Grants, info: unknown) => unknown) | undefined;
      const scopes = entryScopes(name);
      // A refusal is a rejected promise, so that it nulls this representation only, not the whole `_entities` list;
      // every other caller goes straight through (no extra promise on a hot entity path such as Constitution).
      resolvers.__resolveReference = (ref: unknown, ctx: Grants, resolveInfo: unknown) => {
        if (ctx.user?.grants !== undefined) {
          try {
            check(ctx, scopes);
          } catch (error) {
            return Promise.reject(error);
          }
        }
        return inner ? inner(ref, ctx, resolveInfo) : ref;
      };
    }
    if (!root && (!reachable.has(name) || reads[name])) continue;
    for (const field of info.fields.keys()) {
      const resolvers = (out[name] ??= {});
      resolvers[field] = wrap(resolvers[field], ROOTS.has(name) && name !== 'Query' ? undefined : scopesOf(name, field));
    }
  }
}

function check(ctx: Grants, scopes: readonly AgentAccessScope[] | undefined): void {
  const grants = ctx.user?.grants;
  if (grants === undefined) return;
  if (!scopes || !scopes.some((s) => grants.includes(s))) throw forbidden(DENIED);
}

function wrap(existing: unknown, scopes: readonly AgentAccessScope[] | undefined): unknown {
  const guarded = (resolve: GraphQLFieldResolver<unknown, Grants>): GraphQLFieldResolver<unknown, Grants> =>
    (parent, args, ctx, info) => {
      check(ctx, scopes);
      return resolve(parent, args, ctx, info);
    };
  if (typeof existing === 'function') return guarded(existing as GraphQLFieldResolver<unknown, Grants>);
  if (existing && typeof existing === 'object' && 'subscribe' in existing) {
    const config = existing as { subscribe: GraphQLFieldResolver<unknown, Grants>; resolve?: GraphQLFieldResolver<unknown, Grants> };
    return { ...config, subscribe: guarded(config.subscribe), resolve: guarded(config.resolve ?? (defaultFieldResolver as GraphQLFieldResolver<unknown, Grants>)) };
  }
  if (existing && typeof existing === 'object' && 'resolve' in existing) {
    const config = existing as { resolve: GraphQLFieldResolver<unknown, Grants> };
    return { ...config, resolve: guarded(config.resolve) };
  }
  return guarded(defaultFieldResolver as GraphQLFieldResolver<unknown, Grants>);
}

function namedType(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type);
}

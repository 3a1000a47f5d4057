import { randomUUID } from 'node:crypto';
import { defaultFieldResolver, type DocumentNode, type GraphQLFieldResolver, Kind, type DirectiveNode, type ValueNode } from 'graphql';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { forbidden, unauthenticated } from './errors.js';
import { SIGNING_ALGORITHMS, type KeyRing, type SigningKey } from './keys.js';
import { enforceDelegatedReads, readsOf } from './delegated-reads.js';
import { claimsDelegation, DELEGATED_AUDIENCE, DELEGATED_TTL_SECONDS, delegatedCaller, type AgentAccessScope } from './delegation.js';
import type { KeySource, TrustedService } from './trust.js';

/** The caller as the token describes it. Subgraphs never take identity from any other header. */
export interface AuthUser {
  id: string;
  roles: string[];
  scopes: string[];
  /** The sign-in (session) a user token belongs to, from its `sid` claim. */
  sessionId?: string | undefined;
  /** Set when the caller is one of the platform's services (its name); such a caller is never a user. */
  service?: string | undefined;
  /**
   * Set for a delegated token only (delegation.ts): who acts for the user `id` (`service:agent`). Such a caller
   * holds no role and no ordinary scope; it reads only what `grants` opens (delegated-reads.ts).
   */
  actor?: string | undefined;
  /** The consent scopes a delegated token carries: the user's grants when it was minted. */
  grants?: AgentAccessScope[] | undefined;
  /** The consent's version when the delegated token was minted. */
  grantVersion?: string | undefined;
}

export interface AuthContext {
  user?: AuthUser | undefined;
}

export const Role = { USER: 'USER', CLINICIAN: 'CLINICIAN', ADMIN: 'ADMIN' } as const;
export type Role = (typeof Role)[keyof typeof Role];

/**
 * The scopes each role grants, decided once here: the user subgraph writes them
 * into the access token and every subgraph's `@requiresScopes` checks them.
 */
const ROLE_SCOPES: Record<Role, string[]> = {
  USER: ['profile:read', 'profile:write', 'health:read', 'health:write'],
  CLINICIAN: ['health:read:any'],
  ADMIN: ['users:read', 'health:read:any', 'audit:read'],
};
/** Every scope a user token can carry: anything else (a service's scope) marks a token no user subgraph issued. */
const USER_SCOPES = new Set(Object.values(ROLE_SCOPES).flat());

export function scopesForRoles(roles: readonly string[]): string[] {
  const scopes = new Set<string>(ROLE_SCOPES.USER);
  for (const role of roles) for (const scope of ROLE_SCOPES[role as Role] ?? []) scopes.add(scope);
  return [...scopes].sort();
}

export const SERVICE_SUBJECT_PREFIX = 'service:';

export interface JwtOptions extends KeySource {
  issuer: string;
  /** Audience of user tokens. */
  audience: string;
  /** Services whose own tokens are believed, each for its own subject and its allowed scopes only. */
  services?: Record<string, TrustedService> | undefined;
  /** Audience of service tokens (default `suoke-services`). */
  serviceAudience?: string | undefined;
  /** Audience of delegated tokens (default `suoke-delegated`): user keys, subject a user, actor a service. */
  delegatedAudience?: string | undefined;
  /** Longest lifetime (exp − iat) a service token may have (default 300 s). */
  serviceTtlSeconds?: number | undefined;
  /** Remote JWKS caching (jose): how long keys are kept, and the pause before an unknown kid refetches. */
  jwksCacheMaxAgeMs?: number | undefined;
  jwksCooldownMs?: number | undefined;
}

export type TokenVerifier = (token: string) => Promise<AuthUser>;

/** Seconds of clock skew allowed on `exp` (and `nbf`), at verification and in the cache. */
const CLOCK_TOLERANCE_S = 5;

export interface TokenCacheOptions {
  /** Verified tokens remembered (least recently used dropped first); 0 turns the cache off. */
  max?: number;
  /** Longest a verified token is believed without checking its signature again (a JWKS key withdrawn takes effect within it). */
  ttlMs?: number;
}

/**
 * Verifies access tokens with jose against public keys only, pinning the
 * asymmetric algorithms (so `alg: none`, HS256 and algorithm confusion fail),
 * the issuer, the audience and the expiry. Two kinds of token:
 *
 * - a user token: signed by the user subgraph's key (its JWKS), audience
 *   `audience`, only scopes that roles grant, never the SERVICE role;
 * - a service token (`sub` = `service:<name>`): signed by that service's own
 *   key, audience `serviceAudience`, role SERVICE only, scopes within those
 *   configured for it, lifetime within `serviceTtlSeconds`. A service's key
 *   verifies nothing else, so a stolen pod's key mints no user and no ADMIN.
 *
 * - a delegated token (`act` claim, audience `delegatedAudience`): signed by
 *   the user subgraph's key for one user and one acting service, carrying only
 *   consent scopes, lifetime within 120 s (delegation.ts). It is checked as
 *   nothing else, and no other kind is accepted on its audience.
 *
 * Every failure is the same UNAUTHENTICATED error: the reason goes to logs only.
 *
 * A token that verified is remembered, by its exact text, until it expires or
 * for `ttlMs` (60 s) at most, whichever comes first: every request carries its
 * caller's token to the gateway and to each subgraph it touches, and the
 * signature check was the largest single cost of an authenticated request in
 * the gateway's profile. Only successes are kept, a remembered token still
 * fails once its `exp` has passed, and each caller gets its own copy.
 */
export function createTokenVerifier(options: JwtOptions, cacheOptions: TokenCacheOptions = {}): TokenVerifier {
  const remote = { cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000, cooldownDuration: options.jwksCooldownMs ?? 30_000 };
  const keysOf = (source: KeySource): JWTVerifyGetKey | undefined =>
    source.jwks ? createLocalJWKSet(source.jwks) : source.jwksUrl ? createRemoteJWKSet(new URL(source.jwksUrl), remote) : undefined;
  const userKeys = keysOf(options);
  if (!userKeys) throw new Error("createTokenVerifier: the user tokens' public keys (a JWKS URL or a JWKS) are required");
  const services = new Map<string, { keys: JWTVerifyGetKey; scopes: Set<string> }>();
  for (const [name, trusted] of Object.entries(options.services ?? {})) {
    const keys = keysOf(trusted);
    if (keys) services.set(name, { keys, scopes: new Set(trusted.scopes) });
  }
  const serviceAudience = options.serviceAudience ?? 'suoke-services';
  const serviceTtl = options.serviceTtlSeconds ?? 300;
  const delegatedAudience = options.delegatedAudience ?? DELEGATED_AUDIENCE;
  const max = cacheOptions.max ?? 10_000;
  const ttlMs = cacheOptions.ttlMs ?? 60_000;
  const verified = max > 0 && ttlMs > 0 ? new LRUCache<string, { user: AuthUser; expiresAtMs: number }>({ max, ttl: ttlMs, ttlAutopurge: false }) : undefined;

  async function check(token: string): Promise<{ user: AuthUser; payload: JWTPayload }> {
    const claims = decodeJwt(token);
    const subject = claims.sub ?? '';
    const common = { issuer: options.issuer, algorithms: SIGNING_ALGORITHMS, clockTolerance: CLOCK_TOLERANCE_S };
    if (subject.startsWith(SERVICE_SUBJECT_PREFIX)) {
      const name = subject.slice(SERVICE_SUBJECT_PREFIX.length);
      const trusted = services.get(name);
      if (!trusted) throw new Error(`no keys are trusted for ${subject}`);
      const { payload } = await jwtVerify(token, trusted.keys, {
        ...common,
        audience: serviceAudience,
        requiredClaims: ['sub', 'exp', 'iat'],
        maxTokenAge: serviceTtl + CLOCK_TOLERANCE_S,
      });
      const roles = rolesOf(payload);
      if (roles.some((r) => r !== 'SERVICE')) throw new Error(`${subject} claims roles ${roles.join(',')}`);
      const scopes = scopesOf(payload);
      if (scopes.some((s) => !trusted.scopes.has(s))) throw new Error(`${subject} claims a scope it is not allowed`);
      if (Number(payload.exp) - Number(payload.iat) > serviceTtl) throw new Error(`${subject} token lives longer than ${serviceTtl} s`);
      return { user: { id: subject, roles: ['SERVICE'], scopes, service: name }, payload };
    }
    if (claimsDelegation(claims, delegatedAudience)) {
      const { payload } = await jwtVerify(token, userKeys!, {
        ...common,
        audience: delegatedAudience,
        requiredClaims: ['sub', 'exp', 'iat', 'act'],
        maxTokenAge: DELEGATED_TTL_SECONDS.max + CLOCK_TOLERANCE_S,
      });
      return { user: { ...delegatedCaller(payload), roles: [], scopes: [] }, payload };
    }
    const { payload } = await jwtVerify(token, userKeys!, { ...common, audience: options.audience, requiredClaims: ['sub', 'exp'] });
    const roles = rolesOf(payload);
    const scopes = scopesOf(payload);
    if (roles.includes('SERVICE') || scopes.some((s) => !USER_SCOPES.has(s))) throw new Error('a user token carries a service role or scope');
    const sessionId = typeof payload.sid === 'string' && payload.sid !== '' ? payload.sid : undefined;
    return { user: { id: subject, roles, scopes, ...(sessionId ? { sessionId } : {}) }, payload };
  }

  return async (token) => {
    const known = verified?.get(token);
    if (known) {
      if (Date.now() <= known.expiresAtMs) return copyUser(known.user);
      verified!.delete(token);
      throw unauthenticated('The access token has expired');
    }
    try {
      const { user, payload } = await check(token);
      const expiresAtMs = (Number(payload.exp) + CLOCK_TOLERANCE_S) * 1000;
      const remaining = expiresAtMs - Date.now();
      if (verified && remaining > 0) verified.set(token, { user: copyUser(user), expiresAtMs }, { ttl: Math.min(ttlMs, remaining) });
      return user;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired');
      throw unauthenticated('The access token is invalid');
    }
  };
}

function copyUser(user: AuthUser): AuthUser {
  return { ...user, roles: [...user.roles], scopes: [...user.scopes], ...(user.grants ? { grants: [...user.grants] } : {}) };
}

function rolesOf(payload: JWTPayload): string[] {
  return Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
}

function scopesOf(payload: JWTPayload): string[] {
  return typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
}

/**
 * Reads `Authorization: Bearer <jwt>`. No header → anonymous (undefined); a
 * header that is present but not a valid token → UNAUTHENTICATED, never anonymous.
 */
export async function userFromAuthorization(header: string | undefined | null, verify: TokenVerifier): Promise<AuthUser | undefined> {
  if (header === undefined || header === null || header === '') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match?.[1]) throw unauthenticated('The Authorization header must be "Bearer <token>"');
  return verify(match[1]);
}

export interface SignOptions {
  /** The signer's keys (the active one signs, its kid in the header), or one key. */
  key: KeyRing | SigningKey;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** The sign-in the token belongs to: its `sid` claim. */
  sessionId?: string | undefined;
}

/**
 * Issues a user's access token (the user subgraph's key only), carrying the
 * roles, the scopes they grant and, when given, the session id (`sid`).
 */
export async function signAccessToken(user: { id: string; roles: readonly string[]; sessionId?: string | undefined }, options: SignOptions): Promise<string> {
  if (user.id.startsWith(SERVICE_SUBJECT_PREFIX)) throw new Error('signAccessToken: a user id cannot name a service');
  const sessionId = options.sessionId ?? user.sessionId;
  return signToken(user.id, [...user.roles], scopesForRoles(user.roles), options, sessionId ? { sid: sessionId } : {});
}

/**
 * A service's own access token: subject `service:<name>`, role `SERVICE`, and
 * exactly the scopes given: never a user's. A subgraph that calls another
 * through the gateway asks only for the operations it performs; verifiers
 * accept it only with that service's own key and its configured scopes.
 */
export async function signServiceToken(service: { name: string; scopes: readonly string[] }, options: SignOptions): Promise<string> {
  return signToken(`${SERVICE_SUBJECT_PREFIX}${service.name}`, ['SERVICE'], [...service.scopes].sort(), options, {});
}

function signToken(subject: string, roles: string[], scopes: readonly string[], options: SignOptions, extra: Record<string, string>): Promise<string> {
  const key = 'active' in options.key ? options.key.active : options.key;
  return new SignJWT({ roles, scope: scopes.join(' '), ...extra })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid })
    .setSubject(subject)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.ttlSeconds)
    .sign(key.privateKey);
}

/**
 * Whether a caller is one of the platform's own services (a `signServiceToken`
 * subject). Only a holder of the signing key can mint one, and every service
 * call is caused by a user's request that was itself limited, so services are
 * not rate-limited a second time: the agent's knowledge searches for many users
 * would otherwise share one caller's budget.
 */
export function isServiceSubject(id: string | undefined): boolean {
  return id?.startsWith(SERVICE_SUBJECT_PREFIX) ?? false;
}

export function hasScope(user: AuthUser | undefined, scope: string): boolean {
  return user?.scopes.includes(scope) ?? false;
}

/** The caller must be `ownerId`, or hold `anyScope` (e.g. `health:read:any`). */
export function assertOwnerOr(ctx: AuthContext, ownerId: string, anyScope: string): AuthUser {
  const user = ctx.user;
  if (!user) throw unauthenticated();
  if (user.id !== ownerId && !hasScope(user, anyScope)) throw forbidden();
  return user;
}

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

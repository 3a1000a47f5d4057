import { randomUUID } from 'node:crypto';
import { defaultFieldResolver, type DocumentNode, type GraphQLFieldResolver, Kind, type DirectiveNode, type ValueNode } from 'graphql';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { forbidden, unauthenticated } from './errors.js';

/** The caller as the token describes it. Subgraphs never take identity from any other header. */
export interface AuthUser {
  id: string;
  roles: string[];
  scopes: string[];
  /** The sign-in (refresh-token family) the token belongs to, from its `sid` claim: logout ends it. */
  sessionId?: string;
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

export function scopesForRoles(roles: readonly string[]): string[] {
  const scopes = new Set<string>(ROLE_SCOPES.USER);
  for (const role of roles) for (const scope of ROLE_SCOPES[role as Role] ?? []) scopes.add(scope);
  return [...scopes].sort();
}

export interface JwtOptions {
  /** HS256 shared secret. */
  secret?: string | undefined;
  /** Alternative to the secret: verify RS256/ES256/EdDSA tokens against a JWKS. */
  jwksUrl?: string | undefined;
  issuer: string;
  audience: string;
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
 * Verifies access tokens with jose, pinning the algorithm family (so `alg: none`
 * and algorithm confusion fail), the issuer, the audience and the expiry.
 * Every failure is the same UNAUTHENTICATED error: the reason goes to logs only.
 *
 * A token that verified is remembered, by its exact text, until it expires or
 * for `ttlMs` (60 s) at most, whichever comes first: every request carries its
 * caller's token to the gateway and to each subgraph it touches, and the
 * signature check (WebCrypto HMAC or RSA, one promise job each) was the largest
 * single cost of an authenticated request in the gateway's profile. Only
 * successes are kept, a remembered token still fails once its `exp` has passed,
 * and each caller gets its own copy of the identity.
 */
export function createTokenVerifier(options: JwtOptions, cacheOptions: TokenCacheOptions = {}): TokenVerifier {
  let key: Uint8Array | JWTVerifyGetKey;
  let algorithms: string[];
  if (options.jwksUrl) {
    key = createRemoteJWKSet(new URL(options.jwksUrl));
    algorithms = ['RS256', 'ES256', 'EdDSA'];
  } else if (options.secret) {
    key = new TextEncoder().encode(options.secret);
    algorithms = ['HS256'];
  } else {
    throw new Error('createTokenVerifier: a JWT secret or a JWKS URL is required');
  }
  const max = cacheOptions.max ?? 10_000;
  const ttlMs = cacheOptions.ttlMs ?? 60_000;
  const verified = max > 0 && ttlMs > 0 ? new LRUCache<string, { user: AuthUser; expiresAtMs: number }>({ max, ttl: ttlMs, ttlAutopurge: false }) : undefined;
  const copy = (user: AuthUser): AuthUser => ({
    id: user.id,
    roles: [...user.roles],
    scopes: [...user.scopes],
    ...(user.sessionId === undefined ? {} : { sessionId: user.sessionId }),
  });

  return async (token) => {
    const known = verified?.get(token);
    if (known) {
      if (Date.now() <= known.expiresAtMs) return copy(known.user);
      verified!.delete(token);
      throw unauthenticated('The access token has expired');
    }
    try {
      const { payload } = await jwtVerify(token, key as Uint8Array, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        requiredClaims: ['sub', 'exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
      const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
      const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
      const user: AuthUser = { id: String(payload.sub), roles, scopes, ...(typeof payload.sid === 'string' ? { sessionId: payload.sid } : {}) };
      const expiresAtMs = (Number(payload.exp) + CLOCK_TOLERANCE_S) * 1000;
      const remaining = expiresAtMs - Date.now();
      if (verified && remaining > 0) verified.set(token, { user: copy(user), expiresAtMs }, { ttl: Math.min(ttlMs, remaining) });
      return user;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The access token has expired');
      throw unauthenticated('The access token is invalid');
    }
  };
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
  secret: string;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/** Issues an HS256 access token carrying the user's roles, the scopes they grant and, given one, its sign-in as `sid`. */
export async function signAccessToken(user: { id: string; roles: readonly string[]; sessionId?: string }, options: SignOptions): Promise<string> {
  return signToken(user.id, [...user.roles], scopesForRoles(user.roles), options, user.sessionId);
}

/**
 * A service's own access token: subject `service:<name>`, role `SERVICE`, and
 * exactly the scopes given: never a user's. A subgraph that calls another
 * through the gateway asks only for the operations it performs.
 */
export async function signServiceToken(service: { name: string; scopes: readonly string[] }, options: SignOptions): Promise<string> {
  return signToken(`service:${service.name}`, ['SERVICE'], [...service.scopes].sort(), options);
}

function signToken(subject: string, roles: string[], scopes: readonly string[], options: SignOptions, sessionId?: string): Promise<string> {
  return new SignJWT({ roles, scope: scopes.join(' '), ...(sessionId === undefined ? {} : { sid: sessionId }) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(subject)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(Math.floor(Date.now() / 1000) + options.ttlSeconds)
    .sign(new TextEncoder().encode(options.secret));
}

/**
 * Whether a caller is one of the platform's own services (a `signServiceToken`
 * subject). Only a holder of the signing key can mint one, and every service
 * call is caused by a user's request that was itself limited, so services are
 * not rate-limited a second time: the agent's knowledge searches for many users
 * would otherwise share one caller's budget.
 */
export function isServiceSubject(id: string | undefined): boolean {
  return id?.startsWith('service:') ?? false;
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
 * FORBIDDEN while the rest of the response resolves. Returns a new resolver map.
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
  return out as R;
}

function guard(existing: unknown, checks: Check[]): unknown {
  const wrap = (resolve: GraphQLFieldResolver<unknown, AuthContext>): GraphQLFieldResolver<unknown, AuthContext> =>
    (parent, args, ctx, info) => {
      for (const check of checks) check(ctx);
      return resolve(parent, args, ctx, info);
    };
  if (typeof existing === 'function') return wrap(existing as GraphQLFieldResolver<unknown, AuthContext>);
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
      checks.push((ctx) => {
        if (!ctx.user) throw unauthenticated();
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

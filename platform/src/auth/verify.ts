import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { unauthenticated } from '../errors.js';
import { isUserScope, SERVICE_SUBJECT_PREFIX, type AuthUser } from './caller.js';
import { SIGNING_ALGORITHMS } from './keys.js';
import { claimsDelegation, DELEGATED_AUDIENCE, DELEGATED_TTL_SECONDS, delegatedCaller } from './delegation.js';
import type { KeySource, TrustedService } from './trust.js';

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
    if (roles.includes('SERVICE') || scopes.some((s) => !isUserScope(s))) throw new Error('a user token carries a service role or scope');
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


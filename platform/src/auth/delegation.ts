import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { SignJWT, type JWTPayload } from 'jose';
import type { KeyRing, SigningKey } from './keys.js';

/**
 * Delegated access (issue 20, "Consent and personal context"): a user grants
 * the agents consent per scope; the user subgraph then mints, for the agent's
 * service credential, a short-lived token whose subject is the user and whose
 * actor is `service:agent`, carrying only the scopes granted now. Every
 * verifier accepts it on its own audience, and every subgraph lets it read only
 * the fields it allowlists for a granted scope (`delegated-reads.ts`).
 */

/** What a user can let the agents read. */
export const AGENT_ACCESS_SCOPES = ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS'] as const;
export type AgentAccessScope = (typeof AGENT_ACCESS_SCOPES)[number];

/** The audience of delegated tokens: no user-token or service-token verifier path accepts it. */
export const DELEGATED_AUDIENCE = 'suoke-delegated';
/** The actor a delegated token names; the user subgraph mints for no one else. */
export const AGENT_ACTOR = 'service:agent';
const ACTORS = new Set([AGENT_ACTOR]);
/** The service scope that may mint a delegated token (the agent's credential holds it). */
export const DELEGATE_SCOPE = 'agent-access:delegate';
/** Bounds of a delegated token's lifetime: long enough for one reply's reads, short enough that a revocation bites at once. */
export const DELEGATED_TTL_SECONDS = { min: 60, max: 120, default: 90 } as const;
/** The stable error code of a mint (or read) refused because the user granted nothing. */
export const CONSENT_REQUIRED = 'CONSENT_REQUIRED';

export function consentRequired(message = 'The user has not granted the agents access to their data'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: CONSENT_REQUIRED } });
}

export function isAgentAccessScope(value: unknown): value is AgentAccessScope {
  return typeof value === 'string' && (AGENT_ACCESS_SCOPES as readonly string[]).includes(value);
}

export interface DelegatedGrant {
  userId: string;
  scopes: readonly AgentAccessScope[];
  /** The consent's version when minted (`gv`): a reply built on it is cached under it. */
  grantVersion: string;
}

/**
 * Signs a delegated token with the user subgraph's keys: `sub` the user,
 * `act: { sub: "service:agent" }`, `scope` the granted scopes, `gv` the grant
 * version, audience DELEGATED_AUDIENCE, no roles.
 */
export async function signDelegatedToken(
  grant: DelegatedGrant,
  options: { key: KeyRing | SigningKey; issuer: string; ttlSeconds: number; audience?: string },
): Promise<{ token: string; expiresAt: Date }> {
  if (grant.scopes.length === 0) throw consentRequired();
  if (grant.userId.startsWith('service:')) throw new Error('signDelegatedToken: a delegated subject must be a user');
  const ttl = Math.min(DELEGATED_TTL_SECONDS.max, Math.max(DELEGATED_TTL_SECONDS.min, Math.floor(options.ttlSeconds)));
  const key = 'active' in options.key ? options.key.active : options.key;
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ act: { sub: AGENT_ACTOR }, scope: [...grant.scopes].sort().join(' '), gv: grant.grantVersion })
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: key.kid })
    .setSubject(grant.userId)
    .setIssuer(options.issuer)
    .setAudience(options.audience ?? DELEGATED_AUDIENCE)
    .setIssuedAt(now)
    .setJti(randomUUID())
    .setExpirationTime(now + ttl)
    .sign(key.privateKey);
  return { token, expiresAt: new Date((now + ttl) * 1000) };
}

/** Whether a token (its unverified claims) claims to be delegated: verifiers then check it as one, and only as one. */
export function claimsDelegation(claims: JWTPayload, audience: string): boolean {
  const aud = claims.aud;
  return claims.act !== undefined || aud === audience || (Array.isArray(aud) && aud.includes(audience));
}

/**
 * The caller a verified delegated token describes, or an Error saying why it
 * is refused: a known actor, a user subject, no roles, at least one scope and
 * only consent scopes, a lifetime within DELEGATED_TTL_SECONDS.max.
 */
export function delegatedCaller(payload: JWTPayload): {
  id: string;
  actor: string;
  grants: AgentAccessScope[];
  grantVersion: string;
} {
  const act = payload.act as { sub?: unknown } | undefined;
  const actor = typeof act?.sub === 'string' ? act.sub : '';
  if (!ACTORS.has(actor)) throw new Error(`a delegated token names an unknown actor ${JSON.stringify(actor)}`);
  const subject = payload.sub ?? '';
  if (subject === '' || subject.startsWith('service:')) throw new Error('a delegated token must name a user');
  if (payload.roles !== undefined) throw new Error('a delegated token carries roles');
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
  if (scopes.length === 0 || !scopes.every(isAgentAccessScope)) throw new Error('a delegated token carries no scope, or one that is not a consent scope');
  if (Number(payload.exp) - Number(payload.iat) > DELEGATED_TTL_SECONDS.max) throw new Error(`a delegated token lives longer than ${DELEGATED_TTL_SECONDS.max} s`);
  const grantVersion = typeof payload.gv === 'string' ? payload.gv : '';
  return { id: subject, actor, grants: scopes as AgentAccessScope[], grantVersion };
}

/**
 * The key of a `HealthSummary` entity (health subgraph): one observation type
 * over one window of one user. Shared here because the agent builds the
 * citations of what it read and the health subgraph resolves them; neither
 * imports the other.
 */
export interface HealthSummaryKey {
  userId: string;
  type: string;
  from: Date;
  to: Date;
}

export function healthSummaryId(key: HealthSummaryKey): string {
  return `${key.userId.toLowerCase()}~${key.type}~${key.from.toISOString()}~${key.to.toISOString()}`;
}

/** The parts of a HealthSummary id, or undefined when it is not one (a malformed id matches nothing). */
export function parseHealthSummaryId(id: string): HealthSummaryKey | undefined {
  const parts = id.split('~');
  if (parts.length !== 4) return undefined;
  const [userId, type, from, to] = parts as [string, string, string, string];
  const fromDate = new Date(from);
  const toDate = new Date(to);
  if (!/^[A-Z_]{1,40}$/.test(type) || Number.isNaN(fromDate.getTime()) || Number.isNaN(toDate.getTime()) || fromDate >= toDate) return undefined;
  return { userId, type, from: fromDate, to: toDate };
}

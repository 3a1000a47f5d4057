import type { AgentAccessScope } from './delegation.js';
import { forbidden, unauthenticated } from '../errors.js';

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

export function isUserScope(scope: string): boolean {
  return USER_SCOPES.has(scope);
}

export function scopesForRoles(roles: readonly string[]): string[] {
  const scopes = new Set<string>(ROLE_SCOPES.USER);
  for (const role of roles) for (const scope of ROLE_SCOPES[role as Role] ?? []) scopes.add(scope);
  return [...scopes].sort();
}

export const SERVICE_SUBJECT_PREFIX = 'service:';

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


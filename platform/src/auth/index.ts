/**
 * Auth, both halves: token verification (verify.ts) and signing (sign.ts), the callers they describe (caller.ts),
 * the `@authenticated`/`@requiresScopes` enforcement (directives.ts), delegated access (delegation.ts,
 * delegated-reads.ts), signing keys and the JWKS route (keys.ts), whom a verifier trusts (trust.ts), ended
 * sessions (sessions.ts), the gateway's edge check (gateway.ts) and the variables they read (config.ts). The only file other code imports.
 */
export { assertOwnerOr, hasScope, isServiceSubject, Role, scopesForRoles, SERVICE_SUBJECT_PREFIX, type AuthContext, type AuthUser } from './caller.js';
export { createTokenVerifier, userFromAuthorization, type JwtOptions, type TokenCacheOptions, type TokenVerifier } from './verify.js';
export { signAccessToken, signServiceToken, type SignOptions } from './sign.js';
export { withAuthDirectives } from './directives.js';
export * from './delegation.js';
export { ANY_GRANT, delegatedReads, type DelegatedReads } from './delegated-reads.js';
export * from './keys.js';
export * from './trust.js';
export * from './sessions.js';
export { authEnv, authProblems, signingEnv, type SigningEnvConfig } from './config.js';
export { createGatewayAuth, gatewayCaller, type GatewayAuth, type GatewayCaller } from './gateway.js';

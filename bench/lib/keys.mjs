// The bench's signing keys and secrets: a fresh set per run, as an operator gives each service its own.
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { DEFAULT_TRUSTED_SERVICES } from '@suoke/platform';

export const JWT = { issuer: 'suoke-life', audience: 'suoke-app' };

/** A fresh Ed25519 key per signing service and run, as an operator gives each its own (JWT_SIGNING_KEYS). */
function signingKey(service) {
  const { privateKey } = generateKeyPairSync('ed25519');
  const kid = `bench-${service}-${randomBytes(4).toString('hex')}`;
  const publicJwk = { ...createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' };
  return { kid, privateKey, publicJwk, privateJwks: JSON.stringify({ keys: [{ ...privateKey.export({ format: 'jwk' }), kid, alg: 'EdDSA', use: 'sig' }] }) };
}
export const KEYS = { user: signingKey('user'), agent: signingKey('agent'), diagnosis: signingKey('diagnosis') };
/** What every process verifies with: public keys only, pinned inline (the user subgraph's port is chosen later). */
export const TRUST_ENV = {
  JWT_JWKS: JSON.stringify({ keys: [KEYS.user.publicJwk] }),
  // The scopes each service is allowed by default (platform/src/auth/trust.ts), with the bench's own keys.
  TRUSTED_SERVICES: JSON.stringify({
    agent: { jwks: { keys: [KEYS.agent.publicJwk] }, scopes: DEFAULT_TRUSTED_SERVICES.agent.scopes },
    diagnosis: { jwks: { keys: [KEYS.diagnosis.publicJwk] }, scopes: DEFAULT_TRUSTED_SERVICES.diagnosis.scopes },
  }),
};
export const GATEWAY_SECRET = randomBytes(24).toString('base64url');
/** The user subgraph's HMAC key for refresh-token successors, required in production like the keys. */
export const REFRESH_TOKEN_SECRET = randomBytes(32).toString('base64url');
/** The diagnosis subgraph's key for its local media store's signed upload URLs, required in production. */
export const MEDIA_URL_SECRET = randomBytes(32).toString('base64url');

/** Access tokens as the user subgraph signs them (this run's user key), for `roles` with `scope` (a USER's by default). */
export async function signTokens(userIds, { roles = ['USER'], scope = 'health:read health:write profile:read profile:write' } = {}) {
  const { privateKey, kid } = KEYS.user;
  return Promise.all(
    userIds.map((id) =>
      new SignJWT({ roles, scope })
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setSubject(id)
        .setIssuer(JWT.issuer)
        .setAudience(JWT.audience)
        .setExpirationTime('2h')
        .sign(privateKey),
    ),
  );
}

import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { scopesForRoles, SERVICE_SUBJECT_PREFIX } from './caller.js';
import type { KeyRing, SigningKey } from './keys.js';

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


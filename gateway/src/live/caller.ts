import type { IncomingMessage } from 'node:http';
import { gatewayCaller, type AuthUser, type SessionDenyList, type TokenVerifier } from '@suoke/platform';
import { clientIp } from '../client-ip.js';
import { clientFromConnection, type ClientHeaderNames, type ClientIdentity } from '../client-identity.js';

/** Who holds a WebSocket connection: verified once, at `connection_init`. */
export interface LiveCaller {
  user: AuthUser | undefined;
  /** Forwarded to subgraphs, as for queries, only once verified. */
  authorization: string | undefined;
  /** When the access token expires (ms since the epoch); every subscription of the connection ends then. */
  expiresAt: number | undefined;
  clientIp: string;
  /** The app and version the connection names (client-identity.ts: upgrade or request headers, else connectionParams). */
  client: ClientIdentity;
  /** The per-caller cap's key: the user, else the client address. */
  key: string;
}

/**
 * The token of a `connection_init` payload: `{ authorization: "Bearer …" }`,
 * as this gateway documents it, or `Authorization`, or `headers.authorization`
 * (Apollo's and Hive's clients send those). Anything but a string is no token.
 */
export function authorizationFrom(params: unknown): string | undefined {
  if (params === null || typeof params !== 'object') return undefined;
  const record = params as Record<string, unknown>;
  const headers = record.headers !== null && typeof record.headers === 'object' ? (record.headers as Record<string, unknown>) : undefined;
  for (const value of [record.authorization, record.Authorization, headers?.authorization, headers?.Authorization]) {
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/**
 * The `exp` of a token that has just been verified (so its payload is the
 * issuer's), in ms; undefined without one. Read here because the verified
 * user carries no expiry, and a socket outlives the token it opened with.
 */
export function expiryOf(authorization: string): number | undefined {
  const payload = /^Bearer\s+([^.\s]+)\.([^.\s]+)\./i.exec(authorization.trim())?.[2];
  if (!payload) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies the connection's token as the HTTP path does (signature, claims, ended sessions); throws UNAUTHENTICATED. */
export async function callerFrom(
  params: unknown,
  request: IncomingMessage,
  deps: { verify: TokenVerifier; sessions: SessionDenyList; trustedProxyHops: number; clientHeaders?: ClientHeaderNames | undefined },
): Promise<LiveCaller> {
  const { user, authorization } = await gatewayCaller(authorizationFrom(params), deps);
  const ip = clientIp(request, deps.trustedProxyHops);
  return {
    user,
    authorization,
    expiresAt: user && authorization ? expiryOf(authorization) : undefined,
    clientIp: ip,
    client: clientFromConnection(request.headers, params, deps.clientHeaders),
    key: user ? `u:${user.id}` : `a:${ip}`,
  };
}

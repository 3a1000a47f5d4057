import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AuthUser } from './caller.js';
import { SessionDenyList } from './sessions.js';
import { tokenVerifierOptions, type VerifierConfig } from './trust.js';
import { createTokenVerifier, userFromAuthorization, type TokenVerifier } from './verify.js';

/** The gateway's half of auth: the edge verifies every token (a bad one never reaches planning) and refuses ended sessions. */
export interface GatewayAuth {
  verify: TokenVerifier;
  /** Ended sessions (logout): an in-memory set, fed by Redis pub/sub and by the sessions subgraph's answers. */
  sessions: SessionDenyList;
}

/** Verified caller of one request: the Authorization header is forwarded to subgraphs only once it verified. */
export interface GatewayCaller {
  user: AuthUser | undefined;
  authorization: string | undefined;
}

/** Public keys only: the user subgraph's JWKS for user tokens, each trusted service's for its own. */
export function createGatewayAuth(config: VerifierConfig, redis: Redis | undefined, log: Logger): GatewayAuth {
  const verify = createTokenVerifier(tokenVerifierOptions(config));
  const sessions = new SessionDenyList(redis, log);
  sessions.start();
  return { verify, sessions };
}

/** The caller an Authorization header names, as the HTTP and WebSocket paths both check it; throws UNAUTHENTICATED. */
export async function gatewayCaller(authorization: string | undefined, auth: GatewayAuth): Promise<GatewayCaller> {
  const user = await userFromAuthorization(authorization, auth.verify);
  auth.sessions.check(user);
  return { user, authorization: user ? authorization : undefined };
}

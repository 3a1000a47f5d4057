import { DEV_JWT_SECRET, signAccessToken } from '@suoke/platform';
import type { AgentConfig } from '../config.js';

/** The subject of the agent subgraph's own calls: not a UUID, so it owns no user's data. */
export const SERVICE_SUBJECT = 'service:agent';
const TTL_SECONDS = 300;

/**
 * The agent subgraph's credential for calls through the gateway: an access
 * token signed with the platform's JWT settings for the `SERVICE` role,
 * renewed a minute before it expires. Undefined when tokens are verified
 * against a JWKS (this process holds no signing key then); the knowledge
 * search it is used for is public, so calls go out without one.
 */
export function serviceCredential(config: Pick<AgentConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'NODE_ENV'>): () => Promise<string | undefined> {
  const secret = config.JWT_SECRET ?? (config.NODE_ENV === 'production' ? undefined : DEV_JWT_SECRET);
  let current: { token: Promise<string>; renewAt: number } | undefined;
  return async () => {
    if (!secret) return undefined;
    if (!current || Date.now() >= current.renewAt) {
      const token = signAccessToken({ id: SERVICE_SUBJECT, roles: ['SERVICE'] }, { secret, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE, ttlSeconds: TTL_SECONDS });
      current = { token, renewAt: Date.now() + (TTL_SECONDS - 60) * 1000 };
      token.catch(() => (current = undefined));
    }
    return current.token;
  };
}

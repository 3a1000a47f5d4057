import { serviceCredential as platformCredential } from '@suoke/platform';
import type { AgentConfig } from '../config.js';

/** The subject of the agent subgraph's own calls: not a UUID, so it owns no user's data. */
export const SERVICE_SUBJECT = 'service:agent';

/**
 * The agent subgraph's credential for calls through the gateway, signed with
 * the agent's own key. It carries no scope: the knowledge `search` it is used
 * for is public, and a service token is never a user's (see `signServiceToken`).
 */
export function serviceCredential(
  config: Pick<AgentConfig, 'JWT_SIGNING_KEYS' | 'JWT_SIGNING_KID' | 'JWT_KEYS_DIR' | 'JWT_ISSUER' | 'SERVICE_TOKEN_AUDIENCE' | 'SERVICE_TOKEN_TTL_SECONDS' | 'NODE_ENV'>,
): () => Promise<string | undefined> {
  return platformCredential({ service: 'agent', scopes: [], ...config });
}

/**
 * The agent's credential for minting delegated tokens (`delegateAgentAccess`, issue 20): scope
 * `agent-access:delegate` only, kept apart from the scope-less search credential so that a deployment whose
 * TRUSTED_SERVICES does not allow the scope loses personal context, not knowledge search.
 */
export function delegationCredential(
  config: Pick<AgentConfig, 'JWT_SIGNING_KEYS' | 'JWT_SIGNING_KID' | 'JWT_KEYS_DIR' | 'JWT_ISSUER' | 'SERVICE_TOKEN_AUDIENCE' | 'SERVICE_TOKEN_TTL_SECONDS' | 'NODE_ENV'>,
): () => Promise<string | undefined> {
  return platformCredential({ service: 'agent', scopes: ['agent-access:delegate'], ...config });
}

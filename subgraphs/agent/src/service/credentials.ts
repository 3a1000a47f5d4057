import { serviceCredential as platformCredential } from '@suoke/platform';
import type { AgentConfig } from '../config.js';

/** The subject of the agent subgraph's own calls: not a UUID, so it owns no user's data. */
export const SERVICE_SUBJECT = 'service:agent';

/**
 * The agent subgraph's credential for calls through the gateway. It carries no
 * scope: the knowledge `search` it is used for is public, and a service token
 * is never a user's (see `signServiceToken`).
 */
export function serviceCredential(config: Pick<AgentConfig, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'NODE_ENV'>): () => Promise<string | undefined> {
  return platformCredential({ service: 'agent', scopes: [], ...config });
}

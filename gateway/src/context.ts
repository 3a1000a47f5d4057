import type { AuthUser, RateBudget } from '@suoke/platform';
import type { ClientIdentity } from './client-identity.js';

/** Per-request gateway context: the verified caller and what is forwarded to subgraphs. */
export interface GatewayContext {
  requestId: string;
  /** The caller's Authorization header, forwarded only after it verified. */
  authorization?: string | undefined;
  user?: AuthUser | undefined;
  /** The caller's address (see client-ip.ts); keys anonymous rate limits. */
  clientIp: string;
  /**
   * Which app sent the operation (client-identity.ts): the client-awareness headers as sent
   * (cleaned, capped), `(unknown)` for what they did not name; a trusted document's owner
   * stands in for a missing name once its text is resolved (client-awareness.ts).
   */
  client: ClientIdentity;
  /** Rate-limit decisions per root field, set before planning and forwarded to subgraphs. */
  rateBudget?: RateBudget | undefined;
}

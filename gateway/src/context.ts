import type { AuthUser, RateBudget } from '@suoke/platform';

/** Per-request gateway context: the verified caller and what is forwarded to subgraphs. */
export interface GatewayContext {
  requestId: string;
  /** The caller's Authorization header, forwarded only after it verified. */
  authorization?: string | undefined;
  user?: AuthUser | undefined;
  /** The caller's address (see client-ip.ts); keys anonymous rate limits. */
  clientIp: string;
  /** Rate-limit decisions per root field, set before planning and forwarded to subgraphs. */
  rateBudget?: RateBudget | undefined;
}

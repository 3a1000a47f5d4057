import type { AuthUser } from '@suoke/platform';

/** Per-request gateway context: the verified caller and what is forwarded to subgraphs. */
export interface GatewayContext {
  requestId: string;
  /** The caller's Authorization header, forwarded only after it verified. */
  authorization?: string | undefined;
  user?: AuthUser | undefined;
}

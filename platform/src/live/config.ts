import { z } from 'zod';

/** What a subgraph serving subscriptions reads (part of subgraphEnv). */
export const liveEnv = {
  /**
   * Open subscription streams one subgraph process holds; the next is refused with
   * TOO_MANY_SUBSCRIPTIONS. Each costs a socket, a bus listener and a few KiB; 0 refuses all.
   */
  SUBSCRIPTIONS_MAX_PER_PROCESS: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  /** An SSE comment on every open stream this often: proxies cut streams that stay quiet for 60–120 s. */
  SUBSCRIPTION_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** Unread events a subscriber may have; one more closes its stream with SUBSCRIPTION_OVERFLOW (it resubscribes). */
  SUBSCRIPTION_BUFFER_EVENTS: z.coerce.number().int().min(1).max(100_000).default(100),
};

export type LiveConfig = { [K in keyof typeof liveEnv]: z.infer<(typeof liveEnv)[K]> };

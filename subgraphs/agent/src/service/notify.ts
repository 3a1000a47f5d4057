import { serviceCredential, ServiceCallError, type GatewayRequest } from '@suoke/platform';
import type { AgentConfig } from '../config.js';

/** What 索儿 sends to the user's inbox: the user subgraph's `postNotification`, idempotent by `key`. */
export interface NotificationPost {
  /** One key per occurrence: a retried job posts the same notification, never a second one. */
  key: string;
  userId: string;
  kind: 'REMINDER' | 'SEASONAL_ADVICE';
  title: string;
  body: string;
}

/** 'POSTED' (or already posted under this key), or 'REFUSED': the user subgraph will never take it (no such user, a retracted key). */
export type PostNotification = (post: NotificationPost) => Promise<'POSTED' | 'REFUSED'>;

const POST = /* GraphQL */ `
  mutation AgentNotify($input: PostNotificationInput!) {
    postNotification(input: $input) { id }
  }`;

/** The only scope the agent's job credential carries: writing notifications (granted in DEFAULT_TRUSTED_SERVICES). */
export const JOB_SCOPES = ['notifications:write'] as const;

/**
 * Through the gateway, as another team's service. A transient failure throws
 * (the job is retried with backoff); a refusal is final and reported, so that
 * a reminder for a deleted account does not retry forever.
 */
export function gatewayNotifications(request: GatewayRequest): PostNotification {
  return async (post) => {
    try {
      await request('AgentNotify', POST, { input: post });
      return 'POSTED';
    } catch (error) {
      if (error instanceof ServiceCallError && !error.transient) return 'REFUSED';
      throw error;
    }
  };
}

/** The agent's credential for its jobs' calls: its own key, scope `notifications:write` only. */
export function jobCredential(
  config: Pick<AgentConfig, 'JWT_SIGNING_KEYS' | 'JWT_SIGNING_KID' | 'JWT_KEYS_DIR' | 'JWT_ISSUER' | 'SERVICE_TOKEN_AUDIENCE' | 'SERVICE_TOKEN_TTL_SECONDS' | 'NODE_ENV'>,
): () => Promise<string | undefined> {
  return serviceCredential({ service: 'agent', scopes: JOB_SCOPES, ...config });
}

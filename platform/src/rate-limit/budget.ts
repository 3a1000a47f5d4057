import { GraphQLError } from 'graphql';

/** The error code of every rate-limit refusal, at the gateway and in a subgraph. */
export const RATE_LIMITED = 'RATE_LIMITED';
/** The client's address as the gateway saw it, forwarded to subgraphs (trusted only with the gateway secret). */
export const CLIENT_IP_HEADER = 'x-suoke-client-ip';
/** The gateway's per-field decisions, forwarded to subgraphs (trusted only with the gateway secret). */
export const RATE_BUDGET_HEADER = 'x-suoke-rate-budget';

export function rateLimitedError(retryAfterSeconds: number, message?: string): GraphQLError {
  return new GraphQLError(message ?? `Too many requests: try again in ${retryAfterSeconds} s`, {
    extensions: { code: RATE_LIMITED, retryAfter: retryAfterSeconds },
  });
}

/** Per-field decisions the gateway took: field coordinate → response key → 0 (allowed) or seconds to wait (rejected). */
export type RateBudget = Record<string, Record<string, number>>;

export function encodeBudget(budget: RateBudget): string {
  return JSON.stringify(budget);
}

export function decodeBudget(header: string | undefined): RateBudget | undefined {
  if (!header) return undefined;
  try {
    const parsed: unknown = JSON.parse(header);
    return parsed && typeof parsed === 'object' ? (parsed as RateBudget) : undefined;
  } catch {
    return undefined;
  }
}

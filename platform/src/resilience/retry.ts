/**
 * "Full jitter" exponential backoff: a uniformly random delay up to
 * min(max, base × 2^(retry − 1)), so that callers who failed together do not
 * retry together. `retry` counts from 1. A Retry-After the dependency sent is
 * honoured when it fits under the cap.
 */
export function backoffDelay(
  retry: number,
  policy: { baseDelayMs: number; maxDelayMs: number },
  retryAfterSeconds?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  const jittered = Math.floor(random() * ceiling);
  if (retryAfterSeconds !== undefined) return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterSeconds * 1000));
  return jittered;
}

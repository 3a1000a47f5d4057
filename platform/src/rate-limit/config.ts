import { z } from 'zod';

/** The rate-limit variables every service reads (spread into the platform's base env). */
export const rateLimitEnv = {
  /** `off` disables @rateLimit enforcement (benchmarks measure its cost with it); refused when NODE_ENV=production. */
  RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  /**
   * Benchmarks only: `allow` lets RATE_LIMITS=off start with NODE_ENV=production, so that bench/
   * measures what the limits cost on the production path. No deployment file sets it.
   */
  BENCHMARK_RATE_LIMITS_OFF: z.enum(['refuse', 'allow']).default('refuse'),
};

type RateLimitEnv = { [K in keyof typeof rateLimitEnv]: z.infer<(typeof rateLimitEnv)[K]> };

/** What production refuses of the slice: limits off (they carry every sign-in and sign-up limit). */
export function rateLimitProblems(config: Partial<RateLimitEnv> & { NODE_ENV?: string | undefined }): string[] {
  if (config.NODE_ENV !== 'production') return [];
  if (config.RATE_LIMITS === 'off' && config.BENCHMARK_RATE_LIMITS_OFF !== 'allow') {
    return ['RATE_LIMITS: off is refused when NODE_ENV=production (it removes every sign-in and sign-up limit)'];
  }
  return [];
}

import { DELEGATED_TTL_SECONDS, loadConfig, signingEnv, signingProblems, subgraphEnv, z, type SigningEnvConfig, type SubgraphConfig } from '@suoke/platform';

/** Development only: refused in production, where REFRESH_TOKEN_SECRET must be set. */
export const DEV_REFRESH_TOKEN_SECRET = 'dev-only-refresh-token-secret-not-for-production';

const env = subgraphEnv(4001).extend(signingEnv.shape).extend({
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /**
   * How long after a refresh the same refresh token may be presented again and get the same
   * successor (a mobile client that never saw the answer retries), instead of being taken for a
   * stolen token, which revokes the sign-in. 0: every reuse revokes.
   */
  REFRESH_REUSE_GRACE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  /**
   * Key of the HMAC that derives a refresh token's successor from the token itself, so that a
   * retry gets the same successor while the database holds only hashes. Changing it only makes
   * retries in flight fail (without revoking). Required in production.
   */
  REFRESH_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * Failed sign-ins on one email, from anywhere, per window, before the smart lockout
   * starts (see service/sign-in-throttle.ts). Far above what an owner mistypes; the
   * lockout then holds back only addresses that failed on the account themselves.
   */
  LOGIN_ACCOUNT_FAILURE_LIMIT: z.coerce.number().int().min(1).default(50),
  LOGIN_ACCOUNT_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  /** How long an address that signed in to an account stays exempt from that account's lockout. */
  LOGIN_KNOWN_ADDRESS_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /**
   * Lifetime of the delegated token minted for the agent (`delegateAgentAccess`): one reply's reads. Short, so that
   * a revocation takes effect on the next message whatever token the agent still holds.
   */
  DELEGATED_TOKEN_TTL_SECONDS: z.coerce.number().int().min(DELEGATED_TTL_SECONDS.min).max(DELEGATED_TTL_SECONDS.max).default(DELEGATED_TTL_SECONDS.default),
});

export type UserConfig = SubgraphConfig & SigningEnvConfig & z.infer<typeof env>;

export function loadUserConfig(source: NodeJS.ProcessEnv = process.env): UserConfig {
  // The only holder of the key that signs user tokens (JWT_SIGNING_KEYS); it publishes the public half.
  return loadConfig('user', env, source, (config) => {
    const problems = signingProblems('user', config);
    if (config.NODE_ENV !== 'production') return problems;
    if (!config.REFRESH_TOKEN_SECRET) problems.push('REFRESH_TOKEN_SECRET: derives refresh-token successors; required when NODE_ENV=production');
    if (config.REFRESH_TOKEN_SECRET === DEV_REFRESH_TOKEN_SECRET) problems.push('REFRESH_TOKEN_SECRET: the development secret is refused when NODE_ENV=production');
    return problems;
  });
}

import { loadConfig, subgraphEnv, z, type SubgraphConfig } from '@suoke/platform';

const env = subgraphEnv(4001).extend({
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  /**
   * Failed sign-ins on one email, from anywhere, per window, before the smart lockout
   * starts (see service/sign-in-throttle.ts). Far above what an owner mistypes; the
   * lockout then holds back only addresses that failed on the account themselves.
   */
  LOGIN_ACCOUNT_FAILURE_LIMIT: z.coerce.number().int().min(1).default(50),
  LOGIN_ACCOUNT_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).default(900),
  /** How long an address that signed in to an account stays exempt from that account's lockout. */
  LOGIN_KNOWN_ADDRESS_DAYS: z.coerce.number().int().min(1).max(365).default(30),
});

export type UserConfig = SubgraphConfig & z.infer<typeof env>;

export function loadUserConfig(source: NodeJS.ProcessEnv = process.env): UserConfig {
  // The user subgraph issues tokens, which needs the signing secret; a JWKS URL only verifies.
  return loadConfig('user', env, source, (config) =>
    config.NODE_ENV === 'production' && !config.JWT_SECRET ? ['JWT_SECRET: the user subgraph signs access tokens with it; required when NODE_ENV=production'] : [],
  );
}

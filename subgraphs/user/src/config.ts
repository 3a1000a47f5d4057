import { loadConfig, subgraphEnv, z, type SubgraphConfig } from '@suoke/platform';

const env = subgraphEnv(4001).extend({
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
});

export type UserConfig = SubgraphConfig & z.infer<typeof env>;

export function loadUserConfig(source: NodeJS.ProcessEnv = process.env): UserConfig {
  // The user subgraph issues tokens, which needs the signing secret; a JWKS URL only verifies.
  return loadConfig('user', env, source, (config) =>
    config.NODE_ENV === 'production' && !config.JWT_SECRET ? ['JWT_SECRET: the user subgraph signs access tokens with it; required when NODE_ENV=production'] : [],
  );
}

import { loadConfig, signingEnv, signingProblems, subgraphEnv, z, type SigningEnvConfig, type SubgraphConfig } from '@suoke/platform';

const env = subgraphEnv(4001).extend(signingEnv.shape).extend({
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
  REFRESH_TOKEN_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
});

export type UserConfig = SubgraphConfig & SigningEnvConfig & z.infer<typeof env>;

export function loadUserConfig(source: NodeJS.ProcessEnv = process.env): UserConfig {
  // The only holder of the key that signs user tokens (JWT_SIGNING_KEYS); it publishes the public half.
  return loadConfig('user', env, source, (config) => signingProblems('user', config));
}

import { loadConfig, subgraphEnv, type SubgraphConfig } from '@suoke/platform';

const env = subgraphEnv(4002);

export type HealthConfig = SubgraphConfig;

export function loadHealthConfig(source: NodeJS.ProcessEnv = process.env): HealthConfig {
  return loadConfig('health', env, source);
}

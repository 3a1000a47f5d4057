import { loadConfig, subgraphEnv, type SubgraphConfig } from '@suoke/platform';

const env = subgraphEnv(4003);

export type KnowledgeConfig = SubgraphConfig;

export function loadKnowledgeConfig(source: NodeJS.ProcessEnv = process.env): KnowledgeConfig {
  return loadConfig('knowledge', env, source);
}

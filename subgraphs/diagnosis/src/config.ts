import { loadConfig, subgraphEnv, type SubgraphConfig } from '@suoke/platform';

const env = subgraphEnv(4005);

export type DiagnosisConfig = SubgraphConfig;

export function loadDiagnosisConfig(source: NodeJS.ProcessEnv = process.env): DiagnosisConfig {
  return loadConfig('diagnosis', env, source);
}

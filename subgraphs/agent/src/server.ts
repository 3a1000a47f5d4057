import { audit, defineSubgraph, rateLimit } from '@suoke/platform';
import { loadAgentConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { createResolvers } from './resolvers/index.js';
import { agentRuntime } from './runtime.js';

/** How runSubgraph, the dev runner, scripts and tests start the agent subgraph. */
export const definition = defineSubgraph({
  name: 'agent',
  schema: new URL('../src/schema.graphql', import.meta.url),
  loadConfig: loadAgentConfig,
  migrations: new URL('../src/db/migrations/', import.meta.url),
  features: [audit, rateLimit],
  runtime: agentRuntime,
  resolvers: ({ config, services: { replies, streams, explanations, care, reminders, seasons } }) =>
    createResolvers({ replies, streams, explanations, care, reminders, seasons, historyTurns: config.LLM_HISTORY_TURNS }),
  loaders: createLoaders,
  // Every operation here may wait on a model: the agent SLO (10 s), not the default one.
  slo: 'agent',
  signingKeys: true,
});

/** Builds the agent subgraph without listening; index.ts and tests call `listen`. */
export const createAgentSubgraph = definition.create;
export type AgentSubgraph = ReturnType<typeof createAgentSubgraph>;
export type AgentSubgraphOptions = Parameters<typeof createAgentSubgraph>[0];
export const typeDefs = definition.typeDefs;
export const migrate = definition.migrate;
export { loadAgentConfig };

// A subgraph's server: its options and context (options.ts), the assembly of schema, Apollo and HTTP front
// (server.ts), the process around it (run.ts, signals.ts), and defineSubgraph, which builds all of it from parts.
export {
  subgraphEnv,
  GATEWAY_SECRET_HEADER,
  type SubgraphConfig,
  type SubgraphContext,
  type SubgraphOptions,
  type Subgraph,
} from './options.js';
export { createSubgraph } from './server.js';
export { stopOnSignals } from './signals.js';
export { openSubgraphDatabase, runSubgraph, type SubgraphDefinition } from './run.js';
export {
  defineSubgraph,
  type CreateOptions,
  type DefinedInstance,
  type DefinedSubgraph,
  type SubgraphExtension,
  type SubgraphLoaders,
  type SubgraphRuntime,
  type SubgraphSetup,
  type SubgraphSpec,
} from './define.js';

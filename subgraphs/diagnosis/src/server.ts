import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { createEventBus, createLogger, createSubgraph, signingKeyRing, type Database, type Logger, type RateLimitStore, type SubgraphDefinition } from '@suoke/platform';
import { loadDiagnosisConfig, type DiagnosisConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { migrate } from './migrate.js';
import { createResolvers } from './resolvers/index.js';
import { ReportSaga, type SagaStep } from './service/saga.js';
import { classifyStepError, configuredSteps } from './service/saga-steps.js';
import { reportTopic } from './service/report-events.js';

export const typeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

/** Builds the diagnosis subgraph without listening; index.ts and tests call `listen`. */
export function createDiagnosisSubgraph(options: {
  config: DiagnosisConfig;
  database: Database;
  log?: Logger;
  rateLimitStore?: RateLimitStore;
  /** Replaces the saga's calls through the gateway (tests). */
  sagaSteps?: SagaStep[];
}) {
  const { config } = options;
  const log =
    options.log ?? createLogger({ service: 'diagnosis', level: config.LOG_LEVEL, format: config.LOG_FORMAT, nodeEnv: config.NODE_ENV, file: config.LOG_FILE });
  // Made here, not by createSubgraph: the saga publishes outside requests, and may still do so after the server stopped.
  const events = createEventBus(config, { log, maxBuffered: config.SUBSCRIPTION_BUFFER_EVENTS });
  const saga = new ReportSaga({
    database: options.database,
    steps: options.sagaSteps ?? configuredSteps(config),
    policy: { attempts: config.SAGA_STEP_ATTEMPTS, baseDelayMs: config.SAGA_RETRY_BASE_MS, leaseMs: config.SAGA_LEASE_MS, sweepMs: config.SAGA_SWEEP_MS },
    log,
    classify: classifyStepError,
    announce: (report) => events.publish(reportTopic(report.id), report),
  });
  const subgraph = createSubgraph({
    name: 'diagnosis',
    typeDefs,
    resolvers: createResolvers({ saga, sagaWaitMs: config.SAGA_WAIT_MS }),
    config,
    database: options.database,
    createLoaders,
    log,
    signingKeys: signingKeyRing('diagnosis', config),
    events,
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
  });
  return {
    ...subgraph,
    saga,
    async listen(port?: number, host?: string) {
      const bound = await subgraph.listen(port, host);
      // Sagas left unfinished by a process that died are resumed from here on.
      saga.startSweeping();
      return bound;
    },
    async stop() {
      await subgraph.stop();
      await saga.stop();
      await events.close();
    },
  };
}

export type DiagnosisSubgraph = ReturnType<typeof createDiagnosisSubgraph>;

/** How the dev runner, scripts and end-to-end tests start this subgraph. */
export const definition: SubgraphDefinition<DiagnosisConfig> = {
  name: 'diagnosis',
  loadConfig: loadDiagnosisConfig,
  create: createDiagnosisSubgraph,
  migrate,
};

export { loadDiagnosisConfig, migrate };

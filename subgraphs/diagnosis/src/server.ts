import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import {
  createEventBus,
  createJobEngine,
  createLogger,
  createSubgraph,
  edgeFromConfig,
  signingKeyRing,
  type Database,
  type Logger,
  type RateLimitStore,
  type SubgraphDefinition,
} from '@suoke/platform';
import { loadDiagnosisConfig, type DiagnosisConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { migrate } from './migrate.js';
import { createResolvers } from './resolvers/index.js';
import { ReportSaga, type SagaStep } from './service/saga.js';
import { watchSagas } from './metrics.js';
import { classifyStepError, configuredSteps } from './service/saga-steps.js';
import { reportTopic } from './service/report-events.js';
import type { MediaStore } from './media/contracts.js';
import { MEDIA_KINDS, type MediaKinds } from './media/kinds.js';
import { analysisPool } from './media/pool.js';
import { createMediaStore, LocalMediaStore, localMediaRoute } from './media/store/index.js';
import { consultationEvents } from './service/consultation-events.js';
import type { MediaDeps } from './service/media.js';
import { defineMediaJobs } from './service/media-jobs.js';

export const typeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

/** Builds the diagnosis subgraph without listening; index.ts and tests call `listen`. */
export function createDiagnosisSubgraph(options: {
  config: DiagnosisConfig;
  database: Database;
  log?: Logger;
  rateLimitStore?: RateLimitStore;
  /** Replaces the saga's calls through the gateway (tests). */
  sagaSteps?: SagaStep[];
  /** The media store; by default S3 with S3_ENDPOINT, else files under MEDIA_DIR. */
  mediaStore?: MediaStore;
  /** Wraps the media handlers (tests: an analysis whose worker dies). */
  mediaKinds?: (kinds: MediaKinds) => MediaKinds;
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
  // 望 and 闻 media (issue 21): bytes in the store, analyses on durable jobs in the diagnosis schema's own job tables.
  const store = options.mediaStore ?? createMediaStore(config, log);
  const jobs = createJobEngine({
    database: options.database,
    schema: 'diagnosis_jobs',
    log,
    pollIntervalMs: config.JOBS_POLL_INTERVAL_MS,
    maintenanceIntervalSeconds: config.JOBS_MAINTENANCE_INTERVAL_SECONDS,
  });
  const pool = analysisPool(MEDIA_KINDS, config.MEDIA_ANALYSIS_THREADS, log);
  const media: MediaDeps = {
    database: options.database,
    store,
    jobs,
    kinds: options.mediaKinds ? options.mediaKinds(pool.kinds) : pool.kinds,
    events: consultationEvents(events, options.database, log),
    log,
    uploadTtlSeconds: config.MEDIA_UPLOAD_URL_TTL_SECONDS,
    downloadTtlSeconds: config.MEDIA_DOWNLOAD_URL_TTL_SECONDS,
  };
  const mediaJobs = defineMediaJobs(jobs, media, {
    attempts: config.MEDIA_ANALYSIS_ATTEMPTS,
    concurrency: Math.max(1, config.MEDIA_ANALYSIS_THREADS),
    analysisTimeoutSeconds: config.MEDIA_ANALYSIS_TIMEOUT_SECONDS,
    retentionDays: config.MEDIA_RETENTION_DAYS,
  });
  const subgraph = createSubgraph({
    name: 'diagnosis',
    typeDefs,
    resolvers: createResolvers({ saga, sagaWaitMs: config.SAGA_WAIT_MS, media }),
    config,
    database: options.database,
    createLoaders,
    log,
    signingKeys: signingKeyRing('diagnosis', config),
    events,
    // The embedded store's signed upload and download URLs; an S3 store's URLs point at the bucket instead.
    ...(store instanceof LocalMediaStore ? { prefixRoutes: [localMediaRoute(store, { cors: edgeFromConfig(config).cors })] } : {}),
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
  });
  jobs.metrics(subgraph.metrics.registry);
  watchSagas(subgraph.metrics, saga, options.database, log);
  return {
    ...subgraph,
    saga,
    media,
    jobs,
    async listen(port?: number, host?: string) {
      await jobs.start();
      await mediaJobs.schedule(config.MEDIA_RETENTION_CRON);
      const bound = await subgraph.listen(port, host);
      if (store instanceof LocalMediaStore && !config.MEDIA_PUBLIC_URL) store.listeningAt(`http://${host ?? 'localhost'}:${bound.port}`);
      // Sagas left unfinished by a process that died are resumed from here on.
      saga.startSweeping();
      return bound;
    },
    async stop() {
      await subgraph.stop();
      await jobs.stop();
      await pool.close();
      await saga.stop();
      await store.close();
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

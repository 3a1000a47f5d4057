import { createEventBus, createJobEngine, edgeFromConfig, type Subgraph, type SubgraphRuntime, type SubgraphSetup } from '@suoke/platform';
import type { DiagnosisConfig } from './config.js';
import type { MediaStore } from './media/contracts.js';
import { MEDIA_KINDS, type MediaKinds } from './media/kinds.js';
import { analysisPool } from './media/pool.js';
import { createMediaStore, LocalMediaStore, localMediaRoute } from './media/store/index.js';
import { watchSagas } from './metrics.js';
import { consultationEvents } from './service/consultation-events.js';
import { defineMediaJobs } from './service/media-jobs.js';
import type { MediaDeps } from './service/media.js';
import { reportTopic } from './service/report-events.js';
import { classifyStepError, configuredSteps } from './service/saga-steps.js';
import { ReportSaga, type SagaStep } from './service/saga.js';

/** What tests may replace when they create the diagnosis subgraph. */
export interface DiagnosisOptions {
  /** Replaces the saga's calls through the gateway (tests). */
  sagaSteps?: SagaStep[];
  /** The media store; by default S3 with S3_ENDPOINT, else files under MEDIA_DIR. */
  mediaStore?: MediaStore;
  /** Wraps the media handlers (tests: an analysis whose worker dies). */
  mediaKinds?: (kinds: MediaKinds) => MediaKinds;
}

/**
 * The diagnosis subgraph's work beyond its resolvers: the report saga, and the
 * 望/闻 media (issue 21) with its bytes in a store and its analyses on durable
 * jobs in the diagnosis schema's own job tables, run in a worker pool.
 */
export function diagnosisRuntime({ config, database, log, options }: SubgraphSetup<DiagnosisConfig, DiagnosisOptions>) {
  // Made here, not by createSubgraph: the saga publishes outside requests, and may still do so after the server stopped.
  const events = createEventBus(config, { log, maxBuffered: config.SUBSCRIPTION_BUFFER_EVENTS });
  const saga = new ReportSaga({
    database,
    steps: options.sagaSteps ?? configuredSteps(config),
    policy: { attempts: config.SAGA_STEP_ATTEMPTS, baseDelayMs: config.SAGA_RETRY_BASE_MS, leaseMs: config.SAGA_LEASE_MS, sweepMs: config.SAGA_SWEEP_MS },
    log,
    classify: classifyStepError,
    announce: (report) => events.publish(reportTopic(report.id), report),
  });
  const store = options.mediaStore ?? createMediaStore(config, log);
  const jobs = createJobEngine({
    database,
    schema: 'diagnosis_jobs',
    log,
    pollIntervalMs: config.JOBS_POLL_INTERVAL_MS,
    maintenanceIntervalSeconds: config.JOBS_MAINTENANCE_INTERVAL_SECONDS,
  });
  const pool = analysisPool(MEDIA_KINDS, config.MEDIA_ANALYSIS_THREADS, log);
  const media: MediaDeps = {
    database,
    store,
    jobs,
    kinds: options.mediaKinds ? options.mediaKinds(pool.kinds) : pool.kinds,
    events: consultationEvents(events, database, log),
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
  return {
    services: { saga, media, jobs },
    events,
    // The embedded store's signed upload and download URLs; an S3 store's URLs point at the bucket instead.
    ...(store instanceof LocalMediaStore ? { prefixRoutes: [localMediaRoute(store, { cors: edgeFromConfig(config).cors })] } : {}),
    extend(subgraph: Subgraph<unknown>) {
      jobs.metrics(subgraph.metrics.registry);
      watchSagas(subgraph.metrics, saga, database, log);
      return {
        async beforeListen() {
          await jobs.start();
          await mediaJobs.schedule(config.MEDIA_RETENTION_CRON);
        },
        async afterListen({ port, host }) {
          if (store instanceof LocalMediaStore && !config.MEDIA_PUBLIC_URL) store.listeningAt(`http://${host ?? 'localhost'}:${port}`);
          // Sagas left unfinished by a process that died are resumed from here on.
          saga.startSweeping();
        },
        async stop() {
          await jobs.stop();
          await pool.close();
          await saga.stop();
          await store.close();
          await events.close();
        },
      };
    },
  } satisfies SubgraphRuntime<object, unknown>;
}

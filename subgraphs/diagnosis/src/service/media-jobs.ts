import type { JobEngine } from '@suoke/platform';
import { analyseMedia, enforceRetention } from './media-analysis.js';
import { ANALYSIS_QUEUE, type MediaDeps } from './media.js';

/** The cron queue that deletes originals past the retention period. */
export const RETENTION_QUEUE = 'media-retention';

/**
 * The media pipeline's queues on the diagnosis job engine (schema `diagnosis_jobs`): one analysis job per submitted
 * photo or recording, retried with backoff when a worker fails or dies (the job expires and is run again), and
 * the retention sweep on a cron schedule.
 */
export function defineMediaJobs(
  engine: JobEngine,
  deps: MediaDeps,
  options: { attempts: number; concurrency: number; analysisTimeoutSeconds: number; retentionDays: number },
): { schedule(cron: string): Promise<void> } {
  const retryLimit = Math.max(0, options.attempts - 1);
  engine.define<{ mediaId: string }>({
    name: ANALYSIS_QUEUE,
    retryLimit,
    retryDelaySeconds: 1,
    expireInSeconds: options.analysisTimeoutSeconds,
    concurrency: options.concurrency,
    handler: (job) => analyseMedia(deps, job.data.mediaId, { retryCount: job.retryCount, retryLimit }),
  });
  engine.define<object>({
    name: RETENTION_QUEUE,
    retryLimit: 2,
    policy: 'short',
    handler: async () => {
      await enforceRetention(deps, options.retentionDays);
    },
  });
  return { schedule: (cron) => engine.schedule(RETENTION_QUEUE, cron) };
}

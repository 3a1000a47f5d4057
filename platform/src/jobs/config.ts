import { z } from 'zod';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** The job engine's variables, shared by every subgraph that runs jobs (extend a subgraph's env with `jobsEnv.shape`). */
export const jobsEnv = z.object({
  /** How often an idle worker polls its queue, in ms (500 at least): the lateness of a due job. */
  JOBS_POLL_INTERVAL_MS: int(500, 60_000, 2_000),
  /** How often jobs whose worker died are put back for retry (and old jobs archived), in seconds. */
  JOBS_MAINTENANCE_INTERVAL_SECONDS: int(1, 3_600, 60),
});

export type JobsConfig = z.infer<typeof jobsEnv>;

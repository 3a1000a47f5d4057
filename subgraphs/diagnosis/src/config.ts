import { availableParallelism } from 'node:os';
import { jobsEnv, loadConfig, signingEnv, signingProblems, subgraphEnv, z, type JobsConfig, type SigningEnvConfig, type SubgraphConfig } from '@suoke/platform';
import { mediaStoreEnv, mediaStoreProblems } from './media/store/index.js';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** The diagnosis subgraph's variables: the platform's, and those of the consultation follow-up saga. */
const env = subgraphEnv(4005).extend(signingEnv.shape).extend(jobsEnv.shape).extend(mediaStoreEnv.shape).extend({
  /** Days a photo's or recording's original (metadata stripped) is kept after submit; the analysis stays. */
  MEDIA_RETENTION_DAYS: int(1, 3_650, 30),
  /** When the retention sweep runs (cron, UTC): hourly by default. */
  MEDIA_RETENTION_CRON: z.string().trim().min(9).default('23 * * * *'),
  /** Tries per analysis, the first included; a worker that dies mid-analysis counts as a failed try. */
  MEDIA_ANALYSIS_ATTEMPTS: int(1, 10, 3),
  /** An analysis still running after this long is presumed dead (its worker crashed) and is tried again. */
  MEDIA_ANALYSIS_TIMEOUT_SECONDS: int(10, 3_600, 120),
  /**
   * Worker threads analysing photos and recordings, off the thread that serves GraphQL; also how many analyses this
   * process runs at once. 0 analyses on the main thread (one at a time). Default: one fewer than the cores, at least 1.
   */
  MEDIA_ANALYSIS_THREADS: int(0, 64, Math.max(1, availableParallelism() - 1)),
  /** Where the saga calls the agent and user subgraphs (the gateway, with the saga's service credential). */
  GATEWAY_URL: z.string().trim().url().default('http://localhost:4000/graphql'),
  /** Per call of a saga step: a call taking longer is abandoned and counts as a transient failure. */
  SAGA_STEP_TIMEOUT_MS: int(100, 120_000, 5_000),
  /** Tries per step (and per compensation), the first included; only transient failures are tried again. */
  SAGA_STEP_ATTEMPTS: int(1, 10, 3),
  /** Backoff before try n is a random delay up to SAGA_RETRY_BASE_MS × 2^(n−1). */
  SAGA_RETRY_BASE_MS: int(1, 60_000, 200),
  /** How long a runner holds a saga without progress before another replica may take it over. */
  SAGA_LEASE_MS: int(1_000, 3_600_000, 30_000),
  /** How often unfinished sagas whose runner died are looked for and resumed; 0 turns the sweep off. */
  SAGA_SWEEP_MS: int(0, 3_600_000, 15_000),
  /**
   * The gateway's budget for one fetch to this subgraph: the gateway's own variables, read here with the
   * gateway's default, so that one environment configures both. Set them alike for the gateway and this
   * subgraph when they run apart.
   */
  SUBGRAPH_TIMEOUT_MS: int(50, 300_000, 10_000),
  SUBGRAPH_DIAGNOSIS_TIMEOUT_MS: z.coerce.number().int().min(50).max(300_000).optional(),
  /**
   * How long completeConsultation and retryReport wait for the saga, counted from the resolver's start,
   * before answering with the report still PENDING. Default: SAGA_WAIT_FRACTION of the gateway's budget
   * (3 s of 10 s); more than SAGA_WAIT_MAX_FRACTION of it is refused, because the same budget also pays for
   * queueing, the completion's transaction, reading the answer and the gateway's hop, and a wait that runs
   * the budget out turns a committed completion into an error at the gateway.
   */
  SAGA_WAIT_MS: z.coerce.number().int().min(0).max(120_000).optional(),
});

/** The default saga wait and the most it may be, as fractions of the gateway's budget for this subgraph. */
export const SAGA_WAIT_FRACTION = 0.3;
export const SAGA_WAIT_MAX_FRACTION = 0.5;

export type DiagnosisConfig = SubgraphConfig &
  SigningEnvConfig &
  JobsConfig &
  Omit<z.infer<typeof env>, 'SAGA_WAIT_MS'> & {
    /** The saga wait in effect (see SAGA_WAIT_MS). */
    SAGA_WAIT_MS: number;
    /** The gateway's fetch budget this process assumes: SUBGRAPH_DIAGNOSIS_TIMEOUT_MS, else SUBGRAPH_TIMEOUT_MS. */
    gatewayBudgetMs: number;
  };

export function loadDiagnosisConfig(source: NodeJS.ProcessEnv = process.env): DiagnosisConfig {
  const budget = (c: z.infer<typeof env>) => c.SUBGRAPH_DIAGNOSIS_TIMEOUT_MS ?? c.SUBGRAPH_TIMEOUT_MS;
  const config = loadConfig('diagnosis', env, source, (c) => {
    // The report saga signs its own service token with the diagnosis key (JWT_SIGNING_KEYS).
    const problems = [...signingProblems('diagnosis', c), ...mediaStoreProblems(c)];
    const most = Math.floor(budget(c) * SAGA_WAIT_MAX_FRACTION);
    if (c.SAGA_WAIT_MS !== undefined && c.SAGA_WAIT_MS > most) {
      problems.push(
        `SAGA_WAIT_MS: must be at most ${SAGA_WAIT_MAX_FRACTION * 100}% of the gateway's budget for diagnosis fetches (${budget(c)} ms, SUBGRAPH_DIAGNOSIS_TIMEOUT_MS or SUBGRAPH_TIMEOUT_MS), i.e. ${most} ms (received ${c.SAGA_WAIT_MS})`,
      );
    }
    return problems;
  });
  const gatewayBudgetMs = budget(config);
  return { ...config, gatewayBudgetMs, SAGA_WAIT_MS: config.SAGA_WAIT_MS ?? Math.floor(gatewayBudgetMs * SAGA_WAIT_FRACTION) };
}

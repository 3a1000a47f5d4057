import { loadConfig, signingEnv, signingProblems, subgraphEnv, z, type SigningEnvConfig, type SubgraphConfig } from '@suoke/platform';

const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** The diagnosis subgraph's variables: the platform's, and those of the consultation follow-up saga. */
const env = subgraphEnv(4005).extend(signingEnv.shape).extend({
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
  /** How long completeConsultation waits for the saga before answering with the report still PENDING. */
  SAGA_WAIT_MS: int(0, 120_000, 10_000),
});

export type DiagnosisConfig = SubgraphConfig & SigningEnvConfig & z.infer<typeof env>;

export function loadDiagnosisConfig(source: NodeJS.ProcessEnv = process.env): DiagnosisConfig {
  // The report saga signs its own service token with the diagnosis key (JWT_SIGNING_KEYS).
  return loadConfig('diagnosis', env, source, (c) => signingProblems('diagnosis', c));
}

import { jobsEnv, loadConfig, signingEnv, signingProblems, subgraphEnv, z, type SigningEnvConfig, type SubgraphConfig } from '@suoke/platform';

const url = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .pipe(z.string().url().optional())
  .optional();
const int = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/**
 * The agent subgraph's variables. The model provider is `openai-compatible`
 * when LLM_PROVIDER says so, or when it is unset and LLM_BASE_URL is set;
 * otherwise the offline responder, which needs no network to any model.
 */
const env = subgraphEnv(4004).extend(signingEnv.shape).extend(jobsEnv.shape).extend({
  LLM_PROVIDER: z.enum(['offline', 'openai-compatible']).optional(),
  /** Base of an OpenAI-compatible API, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1` (Ollama). */
  LLM_BASE_URL: url,
  LLM_API_KEY: z.string().min(1).optional(),
  LLM_MODEL: z.string().min(1).optional(),
  /** Per attempt: a chat completion taking longer is aborted (and retried). */
  LLM_TIMEOUT_MS: int(100, 600_000, 20_000),
  /**
   * The whole budget of producing a reply (knowledge search, the model's attempts and backoff); when it runs out the
   * offline responder answers, marked degraded. Keep it under the gateway's SUBGRAPH_AGENT_TIMEOUT_MS (by default
   * SUBGRAPH_TIMEOUT_MS, 10 s) less the time to store the messages. 0: no deadline.
   */
  LLM_DEADLINE_MS: int(0, 600_000, 8_000),
  /** Attempts per reply, the first included; only transient failures (network, timeout, 429, 5xx) are retried. */
  LLM_MAX_ATTEMPTS: int(1, 10, 3),
  /**
   * Hedged model calls, off unless set (0–600000). An attempt whose request has not answered after this many ms
   * gets a second, identical request raced against it (0: both start together); the first good answer is used
   * and the other request is aborted. A transient failure of one leaves the other to be awaited; the attempt
   * fails, and the retry policy takes over, only when both have failed. Both stay within LLM_TIMEOUT_MS and
   * LLM_DEADLINE_MS, and the breaker counts the attempt once. The cost: up to twice the provider calls (and
   * tokens billed) for every message that misses the reply cache. Must be below LLM_TIMEOUT_MS.
   */
  LLM_HEDGE_DELAY_MS: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : Number(v)))
    .pipe(z.number().int().min(0).max(600_000).optional()),
  /** Backoff before retry n is a random delay up to min(LLM_RETRY_MAX_MS, LLM_RETRY_BASE_MS × 2^(n−1)). */
  LLM_RETRY_BASE_MS: int(1, 60_000, 250),
  LLM_RETRY_MAX_MS: int(1, 120_000, 4_000),
  /** Earlier messages of the conversation sent to the model as context. */
  LLM_HISTORY_TURNS: int(0, 50, 8),
  /** The breaker opens when this percentage of calls in the window failed (once BREAKER_VOLUME calls were made). */
  BREAKER_ERROR_PERCENT: int(1, 100, 50),
  BREAKER_VOLUME: int(1, 10_000, 5),
  /** Rolling window over which failures are counted. */
  BREAKER_WINDOW_MS: int(100, 3_600_000, 10_000),
  /** How long an open breaker fails fast before letting one probe call through (half-open). */
  BREAKER_RESET_MS: int(10, 3_600_000, 30_000),
  /** How long a reply stays cached; 0 disables the reply cache. */
  REPLY_CACHE_TTL_SECONDS: int(0, 30 * 86_400, 3_600),
  /** Prefix of the reply cache's Redis keys: environments sharing a Redis keep apart with their own. */
  REPLY_CACHE_PREFIX: z.string().min(1).max(100).default('suoke:agent:'),
  /** Entries the in-memory cache keeps (Redis, with REDIS_URL, keeps what its TTLs allow). */
  REPLY_CACHE_MAX_ENTRIES: int(1, 1_000_000, 5_000),
  /** Where the offline responder searches the knowledge base (the gateway, with a service credential). */
  GATEWAY_URL: z.string().trim().url().default('http://localhost:4000/graphql'),
  /** A knowledge search taking longer is abandoned: the reply is given without citations. */
  KNOWLEDGE_TIMEOUT_MS: int(50, 60_000, 3_000),
  /**
   * Streamed replies (`sendMessage(input: { stream: true })`): the whole stream may take this long; past it the model
   * is cut and the offline responder finishes the reply (degraded). LLM_DEADLINE_MS bounds the time to the first
   * piece of text, LLM_TIMEOUT_MS the silence between pieces.
   */
  LLM_STREAM_MAX_MS: int(1_000, 600_000, 120_000),
  /**
   * How often a streamed reply's text so far is written to its row and published (the first piece at once). What a
   * subscriber joining mid-stream reads from any replica; lower is smoother, higher writes less.
   */
  STREAM_PERSIST_MS: int(10, 5_000, 100),
  /** The offline responder streams its reply in pieces of this many characters… */
  OFFLINE_STREAM_CHUNK_CHARS: int(1, 1_000, 8),
  /** …this far apart (0: as fast as they can be written). */
  OFFLINE_STREAM_PACE_MS: int(0, 5_000, 25),
  /** At shutdown, streamed replies in flight get this long to finish; the rest are stored FAILED with a reason. */
  STREAM_STOP_GRACE_MS: int(0, 120_000, 5_000),
  /**
   * Rounds of tool calls a model may make in one reply (each round: its calls, run, and their results sent back);
   * then it is asked once more with tool_choice "none" and must answer. 0: the model gets no tools. The offline rules
   * use at most max(2, this) rounds (two: listing slots, then booking the earliest).
   */
  AGENT_MAX_TOOL_ROUNDS: int(0, 10, 3),
  /**
   * What of a user's granted personal data may go to an external model provider: `summary` (default) a short summary
   * (see service/personal-context.ts), `off` nothing at all (and the personal tools are not offered to the model).
   */
  AGENT_PROVIDER_PHI: z.enum(['off', 'summary']).default('summary'),
});

export type AgentConfig = SubgraphConfig &
  SigningEnvConfig &
  Omit<z.infer<typeof env>, 'LLM_PROVIDER'> & {
    /** Resolved: never undefined. */
    LLM_PROVIDER: 'offline' | 'openai-compatible';
  };

export function loadAgentConfig(source: NodeJS.ProcessEnv = process.env): AgentConfig {
  const config = loadConfig('agent', env, source, (c) => {
    // The agent signs its own service token (knowledge search through the gateway) with its own key.
    const problems: string[] = signingProblems('agent', c);
    const provider = c.LLM_PROVIDER ?? (c.LLM_BASE_URL ? 'openai-compatible' : 'offline');
    if (provider === 'openai-compatible') {
      if (!c.LLM_BASE_URL) problems.push('LLM_BASE_URL: required when LLM_PROVIDER=openai-compatible (received unset)');
      if (!c.LLM_MODEL) problems.push('LLM_MODEL: required when LLM_PROVIDER=openai-compatible (received unset)');
    }
    if (c.LLM_RETRY_MAX_MS < c.LLM_RETRY_BASE_MS) {
      problems.push(`LLM_RETRY_MAX_MS: must be at least LLM_RETRY_BASE_MS (${c.LLM_RETRY_BASE_MS}); received ${c.LLM_RETRY_MAX_MS}`);
    }
    if (c.LLM_HEDGE_DELAY_MS !== undefined && c.LLM_HEDGE_DELAY_MS >= c.LLM_TIMEOUT_MS) {
      problems.push(`LLM_HEDGE_DELAY_MS: must be below LLM_TIMEOUT_MS (${c.LLM_TIMEOUT_MS}), or no hedge could ever be sent; received ${c.LLM_HEDGE_DELAY_MS}`);
    }
    return problems;
  });
  return { ...config, LLM_PROVIDER: config.LLM_PROVIDER ?? (config.LLM_BASE_URL ? 'openai-compatible' : 'offline') };
}

import { baseEnv, loadConfig, portSchema, z } from '@suoke/platform';
import { usageEnv, usageProblems } from './usage/index.js';

/** An HTTP header name (RFC 9110 token), lower-cased as Node presents request headers. */
const headerName = (fallback: string) =>
  z
    .string()
    .trim()
    .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be an HTTP header name')
    .default(fallback)
    .transform((v) => v.toLowerCase());

const env = baseEnv.extend({
  GATEWAY_PORT: portSchema(4000),
  /** The composed supergraph the gateway serves and watches. */
  SUPERGRAPH_PATH: z.string().min(1).default('schema/supergraph.graphql'),
  /** Safety-net poll of the supergraph file, in addition to file-system events. */
  SUPERGRAPH_POLL_MS: z.coerce.number().int().min(100).default(2_000),
  /**
   * Before a new supergraph is swapped in, the gateway plans against it the trusted documents and
   * this many of the most used operations of its plan cache, so that the first requests after the
   * swap find their plans (0: the trusted documents only). 100 covers what an app sends (the home
   * screen's few dozen operations, with room for older app versions' variants) at well under a
   * second of planning, done while the previous supergraph keeps serving; a long tail beyond it is
   * rare enough to be planned on its first request, as without pre-planning.
   */
  /** Pre-planning before a supergraph swap (below); `off` swaps with an empty plan cache, as Apollo Gateway alone does. */
  SUPERGRAPH_PREPLAN: z.enum(['on', 'off']).default('on'),
  SUPERGRAPH_PREPLAN_TOP: z.coerce.number().int().min(0).max(10_000).default(100),
  /**
   * Gateway processes sharing GATEWAY_PORT (node:cluster): a primary forks this many workers and
   * sums their /metrics. 1 (the default) is a single process; more spread one machine's cores.
   */
  GATEWAY_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /**
   * How far V8 lets the heap grow past what survived a full collection before the next one, in
   * percent (V8's --heap-growing-percent). V8's own choice goes up to 300 % when collections are
   * fast, which under load left the gateway at four to five times its live heap; 100 keeps the
   * peak near three times. Lower saves more memory but collects more often, and under overload
   * (S1 past saturation, 50) that fed on itself. 0 leaves the choice to V8.
   */
  GATEWAY_HEAP_GROWING_PERCENT: z.coerce.number().int().min(0).max(300).default(100),
  /**
   * The subgraph that keeps sign-ins: the sessions its answers name as ended (logout) are refused
   * by this gateway at once, also without Redis. Believed only with GATEWAY_SECRET set.
   */
  SESSIONS_SUBGRAPH: z.string().min(1).default('user'),
  /** Reverse proxies in front of the gateway whose X-Forwarded-For entries are believed. */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  // Client awareness (client-identity.ts): which app and release sent each operation.
  /** The header naming the client app (Apollo Client's `clientAwareness.name`, Apollo's tools); case-insensitive. */
  CLIENT_NAME_HEADER: headerName('apollographql-client-name'),
  /** The header naming the client's version (Apollo Client's `clientAwareness.version`). */
  CLIENT_VERSION_HEADER: headerName('apollographql-client-version'),
  /**
   * Client names kept as the `client` label of the per-operation metrics, comma-separated; the
   * trusted documents manifest's owners are added to them. Any other name sent is `(other)` and a
   * request without one `(unknown)`, so strangers cannot create series. Logs, traces and usage keep
   * every name as sent.
   */
  METRICS_CLIENT_NAMES: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((name) => name.trim()).filter(Boolean))
    .pipe(z.array(z.string().max(128, 'each name must be at most 128 characters (longer ones are cut when sent)')).max(200)),
  // Subgraph fetches (fetcher.ts, balancer.ts, the platform's Breaker). Per subgraph: SUBGRAPH_<NAME>_TIMEOUT_MS, SUBGRAPH_<NAME>_MAX_IN_FLIGHT.
  /** Budget of one subgraph fetch, retry included; the request is aborted when it runs out. */
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(50).max(300_000).default(10_000),
  /** Fetches to one subgraph at once; a fetch beyond it fails at once with SERVICE_UNAVAILABLE. */
  SUBGRAPH_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(512),
  /**
   * Keep-alive connections per subgraph instance, opened as needed; more requests wait for one
   * (within the budget). Each request holds one for its whole duration, so a subgraph whose
   * answers take seconds (the agent's model replies) needs as many as requests in flight.
   */
  SUBGRAPH_CONNECTIONS: z.coerce.number().int().min(1).max(1_024).default(256),
  /** Failure percentage within 10 s that opens a subgraph's circuit breaker. */
  SUBGRAPH_BREAKER_ERROR_PERCENT: z.coerce.number().int().min(1).max(100).default(50),
  /** Fetches within the window before the breaker may open. */
  SUBGRAPH_BREAKER_VOLUME: z.coerce.number().int().min(1).default(10),
  /** How long an open breaker fails fast before one probe fetch goes through. */
  SUBGRAPH_BREAKER_RESET_MS: z.coerce.number().int().min(100).default(5_000),
  /** First ejection of an unreachable or unready instance; doubles on each repeat up to SUBGRAPH_EJECT_MAX_MS. */
  SUBGRAPH_EJECT_MS: z.coerce.number().int().min(50).default(1_000),
  SUBGRAPH_EJECT_MAX_MS: z.coerce.number().int().min(50).default(10_000),
  /** Readiness checks (GET /health/ready) of each instance of a subgraph with several; 0 turns them off. */
  SUBGRAPH_READINESS_INTERVAL_MS: z.coerce.number().int().min(0).default(5_000),
  /** Identical query fetches in flight at once (same document, variables, token and budget) share one exchange. */
  SUBGRAPH_DEDUPLICATE: z.enum(['on', 'off']).default('on'),
  // Operation shape limits (security.ts), each checked before any subgraph fetch.
  /** Field nesting, fragments flattened: `{ me { id } }` is 2. */
  QUERY_MAX_DEPTH: z.coerce.number().int().min(1).default(12),
  /** Aliased fields per operation (`__typename` excepted). */
  QUERY_MAX_ALIASES: z.coerce.number().int().min(0).default(15),
  /** Directive uses per operation. */
  QUERY_MAX_DIRECTIVES: z.coerce.number().int().min(0).default(10),
  /** Lexical tokens per document (comments excepted). */
  QUERY_MAX_TOKENS: z.coerce.number().int().min(100).default(1_000),
  /** Estimated fields resolved: each field once per item of the lists around it. */
  QUERY_MAX_COST: z.coerce.number().int().min(1).default(5_000),
  /** Largest `first` argument, literal or variable (connections serve at most 100). */
  QUERY_MAX_FIRST: z.coerce.number().int().min(1).default(100),
  /** Items the cost assumes for a list without `first`, and for an absent `first`. */
  QUERY_LIST_SIZE: z.coerce.number().int().min(1).default(20),
  // Subscriptions on /graphql over WebSocket, multipart HTTP and SSE (live/).
  /** Open subscriptions one caller (user id, or client address when anonymous) may hold in this process; more are refused with SUBSCRIPTION_LIMIT. */
  GATEWAY_SUBSCRIPTIONS_MAX_PER_USER: z.coerce.number().int().min(1).default(20),
  /** Open subscriptions in this process; more are refused with SUBSCRIPTION_LIMIT (the client retries on another replica). */
  GATEWAY_SUBSCRIPTIONS_MAX: z.coerce.number().int().min(1).default(10_000),
  /** WebSocket ping interval; a socket that has not answered the previous ping by the next is closed. Idle proxies cut streams after 60-120 s. */
  GATEWAY_WS_KEEPALIVE_MS: z.coerce.number().int().min(100).max(60_000).default(12_000),
  /** Multipart subscriptions' heartbeat parts (`{}`) and SSE comments, this often (Apollo Router: 5 s), so idle proxies keep HTTP streams. */
  GATEWAY_HTTP_SUBSCRIPTION_HEARTBEAT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** A subgraph stream silent this long (no event, no heartbeat: subgraphs send one every 10-12 s) ends its subscriptions with SERVICE_UNAVAILABLE. */
  GATEWAY_SUBSCRIPTION_UPSTREAM_IDLE_MS: z.coerce.number().int().min(500).max(600_000).default(45_000),
  // Automatic persisted queries and trusted documents (document-guard.ts, trusted-documents.ts).
  /** How long a registered automatic persisted query is kept, in seconds (Redis key `suoke:gateway:apq:<sha256>`). */
  APQ_TTL_SECONDS: z.coerce.number().int().min(1).default(86_400),
  /** Largest document, in UTF-8 bytes, that may be registered as an automatic persisted query; larger ones get PERSISTED_QUERY_TOO_LARGE. */
  APQ_MAX_BYTES: z.coerce.number().int().min(256).default(16_384),
  /**
   * `require`: only the manifest's documents run (others: PERSISTED_QUERY_NOT_FOUND by id,
   * OPERATION_NOT_TRUSTED as text), bypass roles excepted. `allow`: manifest ids are resolved, any
   * text runs. `off`: no manifest. Unset: `require` in production when TRUSTED_DOCUMENTS_PATH is set,
   * `allow` elsewhere when it is set, otherwise `off`.
   */
  TRUSTED_DOCUMENTS: z.enum(['off', 'allow', 'require']).optional(),
  /** The trusted documents manifest (sha256 → document): a file, watched, or an http(s) URL, polled. */
  TRUSTED_DOCUMENTS_PATH: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  /** How often the manifest is re-read besides file-system events (a URL only by polling). */
  TRUSTED_DOCUMENTS_POLL_MS: z.coerce.number().int().min(100).default(2_000),
  /**
   * Roles whose tokens may send any document in `require` mode: internal tools (ADMIN) and the
   * platform's own services (SERVICE), whose documents live in their code, not in the app's manifest.
   */
  TRUSTED_DOCUMENTS_BYPASS_ROLES: z
    .string()
    .default('ADMIN,SERVICE')
    .transform((v) => v.split(',').map((role) => role.trim()).filter(Boolean)),
  // Field usage (usage/config.ts): USAGE_RECORDING, USAGE_SAMPLE_RATE, USAGE_DATABASE_URL, USAGE_SCHEMA, USAGE_FLUSH_MS, …
  ...usageEnv,
});

export type GatewayConfig = z.infer<typeof env> & {
  /** SUBGRAPH_<NAME>_TIMEOUT_MS and SUBGRAPH_<NAME>_MAX_IN_FLIGHT, by lower-case subgraph name. */
  SUBGRAPH_OVERRIDES?: Record<string, { timeoutMs?: number; maxInFlight?: number; connections?: number }>;
};

export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const overrides = perSubgraphOverrides(source);
  const config = loadConfig('gateway', env, source, (c) => [...overrides.problems, ...trustedDocumentsProblems(c), ...usageProblems(c)]);
  return { ...config, SUBGRAPH_OVERRIDES: overrides.values };
}

/** The trusted documents mode in force: TRUSTED_DOCUMENTS, else decided by NODE_ENV and whether a manifest is configured. */
export function trustedDocumentsMode(config: Pick<GatewayConfig, 'TRUSTED_DOCUMENTS' | 'TRUSTED_DOCUMENTS_PATH' | 'NODE_ENV'>): 'off' | 'allow' | 'require' {
  if (config.TRUSTED_DOCUMENTS) return config.TRUSTED_DOCUMENTS;
  if (!config.TRUSTED_DOCUMENTS_PATH) return 'off';
  return config.NODE_ENV === 'production' ? 'require' : 'allow';
}

function trustedDocumentsProblems(config: z.infer<typeof env>): string[] {
  const mode = config.TRUSTED_DOCUMENTS;
  return (mode === 'allow' || mode === 'require') && !config.TRUSTED_DOCUMENTS_PATH
    ? [`TRUSTED_DOCUMENTS: ${mode} needs a manifest in TRUSTED_DOCUMENTS_PATH (received unset)`]
    : [];
}

/** The V8 flag for GATEWAY_HEAP_GROWING_PERCENT, or undefined for V8's own heap growth. */
export function heapGrowingFlag(percent: number): string | undefined {
  return percent > 0 ? `--heap-growing-percent=${percent}` : undefined;
}

/**
 * Routing URL overrides from the environment: SUBGRAPH_<NAME>_URL replaces the
 * routing_url composed into the supergraph (service names in docker-compose,
 * free ports in tests).
 */
export function subgraphUrlOverrides(source: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    const match = /^SUBGRAPH_([A-Z0-9_]+)_URL$/.exec(key);
    if (match?.[1] && value) overrides[match[1].toLowerCase()] = value;
  }
  return overrides;
}

const PER_SUBGRAPH = [
  { pattern: /^SUBGRAPH_([A-Z0-9_]+)_TIMEOUT_MS$/, key: 'timeoutMs', min: 50, max: 300_000 },
  { pattern: /^SUBGRAPH_([A-Z0-9_]+)_MAX_IN_FLIGHT$/, key: 'maxInFlight', min: 1, max: Number.MAX_SAFE_INTEGER },
  { pattern: /^SUBGRAPH_([A-Z0-9_]+)_CONNECTIONS$/, key: 'connections', min: 1, max: 1_024 },
] as const;

/** Per-subgraph fetch settings (SUBGRAPH_AGENT_TIMEOUT_MS=60000), each problem listed with the others. */
function perSubgraphOverrides(source: NodeJS.ProcessEnv) {
  const values: NonNullable<GatewayConfig['SUBGRAPH_OVERRIDES']> = {};
  const problems: string[] = [];
  for (const [name, value] of Object.entries(source)) {
    for (const { pattern, key, min, max } of PER_SUBGRAPH) {
      const subgraph = pattern.exec(name)?.[1]?.toLowerCase();
      if (!subgraph || value === undefined) continue;
      const number = Number(value);
      if (!Number.isInteger(number) || number < min || number > max) {
        problems.push(`${name}: must be an integer from ${min} to ${max} (received ${JSON.stringify(value)})`);
        continue;
      }
      (values[subgraph] ??= {})[key] = number;
    }
  }
  return { values, problems };
}

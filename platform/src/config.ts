import { z } from 'zod';
import { authEnv, authProblems } from './auth/index.js';
import { optionalUrl } from './env.js';
import { rateLimitEnv, rateLimitProblems } from './rate-limit/index.js';

/**
 * Environment parsing shared by every service. Each package declares one zod
 * object for the variables it reads; `loadConfig` reports every problem at once
 * so an operator fixes the environment in one pass, not one restart per typo.
 */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(service: string, problems: string[]) {
    super(`${service}: invalid configuration\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export { optionalUrl };

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/**
 * The standard OpenTelemetry variables this project honours (see telemetry/),
 * validated with everything else so a typo fails the start instead of silently
 * tracing nothing. Only the HTTP OTLP protocols are supported.
 */
const telemetryEnv = {
  /** As the specification says: `true` (any case) disables the SDK, anything else leaves it on. */
  OTEL_SDK_DISABLED: z
    .string()
    .optional()
    .transform((v) => v?.trim().toLowerCase() === 'true'),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'console', 'none']).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optionalUrl,
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json']).default('http/protobuf'),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json']).optional(),
  OTEL_TRACES_SAMPLER: z
    .enum(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'])
    .default('parentbased_always_on'),
  /** The ratio for the *traceidratio samplers, 0–1 (default 1). */
  OTEL_TRACES_SAMPLER_ARG: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : Number(v)))
    .pipe(z.number().min(0).max(1).optional()),
  /** `off` keeps parse/validate/execute, DataLoader and SQL spans but no per-resolver spans. */
  TRACE_RESOLVERS: z.enum(['on', 'off']).default('on'),
};

const list = z
  .string()
  .optional()
  .transform((v) => (v ?? '').split(',').map((item) => item.trim()).filter((item) => item !== ''));
const origin = z.string().refine((v) => {
  try {
    return new URL(v).origin === v;
  } catch {
    return false;
  }
}, 'each entry must be an origin: scheme://host[:port], no path or trailing slash');

/** The HTTP front every service shares (http.ts, http-edge.ts, compression.ts, metrics-endpoint.ts). */
const httpEdgeEnv = {
  /**
   * Browser origins allowed to call /graphql (comma-separated). Unset: Apollo Studio's hosted
   * Sandbox (https://studio.apollographql.com) outside production, none in production.
   */
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v) => (v === undefined ? undefined : v.split(',').map((item) => item.trim()).filter((item) => item !== '')))
    .pipe(z.array(origin).optional()),
  /** `on` lets allowed origins send cookies / HTTP auth (Access-Control-Allow-Credentials). Bearer tokens need no credentials. */
  CORS_CREDENTIALS: z.enum(['on', 'off']).default('off'),
  /** How long a browser may cache a preflight answer (Chrome caps it at 7200). */
  CORS_MAX_AGE_S: z.coerce.number().int().min(0).max(86_400).default(600),
  /**
   * All request headers must arrive within this; a client dripping them (slowloris) is answered
   * 408 and closed. Headers are a few hundred bytes: 10 s is ample even on a poor mobile link.
   */
  HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
  /** The whole request (headers and body) must arrive within this (Node's requestTimeout). */
  HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** The body must arrive within this once its headers have: MAX_BODY_BYTES at 50 KB/s takes 20 s. */
  HTTP_BODY_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
  /** An idle keep-alive connection is closed after this; above the usual 60 s of load balancers, so they close first. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(65_000),
  /**
   * Open connections per client address (IPv6: per /64), counted on the socket, so behind a proxy
   * it caps the proxy: set 0 (off) there. 1024 leaves room for the long-lived subscription streams
   * of many phones behind one carrier NAT address; slow clients are cut by the timeouts above.
   * A subgraph sees the gateway's pool: SUBGRAPH_CONNECTIONS × GATEWAY_WORKERS per gateway address
   * (256 by default) must stay under it.
   */
  HTTP_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(0).max(1_000_000).default(1_024),
  /** gzip/brotli for responses the client accepts compressed (multipart/mixed and text/event-stream never). */
  COMPRESSION: z.enum(['on', 'off']).default('on'),
  /** Smaller responses are sent as they are: compressing them costs more than it saves. */
  COMPRESSION_MIN_BYTES: z.coerce.number().int().min(0).default(1_024),
  /**
   * Serve /metrics on this port only (not published with the service's). Unset: /metrics is on the
   * service's port in development; in production it needs METRICS_PORT or METRICS_TOKEN.
   */
  METRICS_PORT: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).max(65535).optional()),
  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  /**
   * Operation names kept as metric labels (comma-separated); any other name is counted as
   * `(other)`, so strangers cannot choose label values. The gateway adds the trusted documents' names.
   */
  METRICS_OPERATION_NAMES: list.pipe(z.array(z.string().regex(/^[_A-Za-z][_0-9A-Za-z]{0,99}$/, 'each entry must be a GraphQL operation name')).max(5_000)),
};

/** Variables every process (gateway and subgraphs) reads. */
export const baseEnv = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  ...authEnv,
  GATEWAY_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  REDIS_URL: optionalUrl,
  MAX_BODY_BYTES: z.coerce.number().int().positive().default(1_048_576),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * After SIGTERM, how long /health/ready answers 503 while requests are still
   * accepted and answered, before the server closes (balancers and the gateway's readiness
   * checks stop sending first). 0 in development; with Kubernetes the preStop pause covers it.
   */
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0),
  ...rateLimitEnv,
  /** Appends JSON log lines to this file instead of writing to stdout (tests, local debugging). */
  LOG_FILE: z.string().min(1).optional(),
  ...httpEdgeEnv,
  ...telemetryEnv,
});

/** Variables a subgraph with a database reads. */
export const databaseEnv = z.object({
  DATABASE_URL: optionalUrl,
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** Where embedded PGlite keeps its files; `memory://` keeps nothing. */
  PGLITE_DATA_DIR: z.string().min(1).optional(),
});

export type BaseConfig = z.infer<typeof baseEnv>;
export type DatabaseConfig = z.infer<typeof databaseEnv>;

export { port as portSchema, z };

/**
 * Parses `env` with `schema`. Throws a ConfigError listing every invalid or
 * missing variable; `check` adds cross-variable rules (returning problems).
 */
export function loadConfig<S extends z.ZodTypeAny>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
  check?: (config: z.infer<S>) => string[],
): z.infer<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = issue.path.join('.') || '(environment)';
      const received = env[String(issue.path[0])];
      const shown = received === undefined ? 'unset' : isSecretName(name) ? '(hidden)' : JSON.stringify(withoutCredentials(received));
      return `${name}: ${issue.message} (received ${shown})`;
    });
    throw new ConfigError(service, problems);
  }
  const problems = [...securityProblems(result.data as Partial<BaseConfig>), ...edgeProblems(result.data as Partial<BaseConfig>), ...(check?.(result.data) ?? [])];
  if (problems.length > 0) throw new ConfigError(service, problems);
  return result.data;
}

/** `postgres://app:pw@db/x` is shown as `postgres://app:***@db/x`; unparsable values that look like URLs are hidden. */
function withoutCredentials(value: string): string {
  if (!value.includes('@')) return value;
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(hidden: looks like a URL with credentials)';
  }
}

function isSecretName(name: string): boolean {
  return /SECRET|KEY|PASSWORD|TOKEN/i.test(name);
}

function edgeProblems(config: Partial<BaseConfig>): string[] {
  const { HTTP_HEADERS_TIMEOUT_MS: headers, HTTP_REQUEST_TIMEOUT_MS: request } = config;
  // Node refuses a headers timeout longer than the whole request's.
  if (headers !== undefined && request !== undefined && headers > request) {
    return [`HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (${request}) (received ${headers})`];
  }
  return [];
}

function securityProblems(config: Partial<BaseConfig>): string[] {
  if (config.NODE_ENV === undefined) return [];
  const tokens = authProblems({ ...config, NODE_ENV: config.NODE_ENV });
  if (config.NODE_ENV !== 'production') return tokens;
  const problems: string[] = [];
  if (!config.GATEWAY_SECRET) {
    problems.push('GATEWAY_SECRET: required when NODE_ENV=production');
  }
  return [...tokens, ...problems, ...rateLimitProblems(config)];
}

/** Runs `load`, printing a ConfigError readably and exiting 1 instead of throwing a stack. */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

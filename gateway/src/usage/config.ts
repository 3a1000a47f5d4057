import { optionalUrl, z } from '@suoke/platform';

/** Field usage (usage/): the gateway's variables, spread into gateway/src/config.ts; `npm run usage` reads the same. */
export const usageEnv = {
  /** `off`: no recording, no store opened. */
  USAGE_RECORDING: z.enum(['on', 'off']).default('on'),
  /**
   * Share of operations recorded, 0..1; counts are scaled by 1/rate. Unset: 1 (every operation)
   * everywhere, production included: recording is an in-memory increment per operation (the bench
   * measures it), and a field used by one old app version a few times a week is exactly what
   * sampling would miss before a removal. Lower it only when the bench says the cost matters.
   */
  USAGE_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(1),
  /** The usage store's PostgreSQL; unset: DATABASE_URL; neither: embedded PGlite under PGLITE_DATA_DIR (or .data)/gateway-usage. */
  USAGE_DATABASE_URL: optionalUrl,
  DATABASE_URL: optionalUrl,
  /** Where embedded PGlite keeps its files (the usage store is `<dir>/gateway-usage`); `memory://` keeps nothing. */
  PGLITE_DATA_DIR: z.string().min(1).optional(),
  /** The gateway's own PostgreSQL schema for usage tables. */
  USAGE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').default('gateway_usage'),
  /** Counts are kept in memory and written this often (one statement per table); a crash loses at most this much. */
  USAGE_FLUSH_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Rows (hour buckets) older than this many days are deleted, at most hourly, by whichever replica flushes. */
  USAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(30),
  /** Distinct (client name, version) pairs kept per hour bucket; further pairs are counted as `(overflow)`. */
  USAGE_MAX_CLIENTS_PER_HOUR: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Rows held in memory while the store is unreachable; beyond it new observations are dropped (and counted in the log). */
  USAGE_MAX_PENDING_ROWS: z.coerce.number().int().min(1_000).max(10_000_000).default(200_000),
};

const usageSchema = z.object(usageEnv);
export type UsageConfig = z.infer<typeof usageSchema>;

/** The usage settings alone (for `npm run usage` and exportUsage, which read no other gateway variable). */
export function loadUsageConfig(env: NodeJS.ProcessEnv = process.env): UsageConfig {
  const parsed = usageSchema.safeParse(env);
  if (!parsed.success) throw new Error(`usage configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/** Problems listed at gateway start with the others. */
export function usageProblems(config: UsageConfig & { GATEWAY_WORKERS: number }): string[] {
  // Embedded PGlite is one process's file: workers cannot share it, and forwarding counts to the
  // primary would make the primary a database process. A real PostgreSQL is what several workers need anyway.
  if (config.USAGE_RECORDING === 'on' && config.GATEWAY_WORKERS > 1 && !storeUrl(config)) {
    return ['USAGE_RECORDING: with GATEWAY_WORKERS > 1 the usage store needs USAGE_DATABASE_URL or DATABASE_URL (embedded PGlite is one process), or USAGE_RECORDING=off'];
  }
  return [];
}

export function storeUrl(config: Pick<UsageConfig, 'USAGE_DATABASE_URL' | 'DATABASE_URL'>): string | undefined {
  return config.USAGE_DATABASE_URL ?? config.DATABASE_URL;
}

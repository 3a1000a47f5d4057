import { loadConfigOrExit } from '../config.js';
import { createDatabase, type Database } from '../db.js';
import type { Logger } from '../logger.js';
import type { MigrationResult } from '../migrate.js';
import { installProcessGuard } from '../process-guard.js';
import type { RateLimitStore } from '../rate-limit/index.js';
import { startTracing } from '../telemetry/index.js';
import type { Subgraph, SubgraphConfig } from './options.js';
import { stopOnSignals } from './signals.js';

/**
 * Everything the dev runner, the scripts, the end-to-end harness and a
 * subgraph's own index.ts need to know about a subgraph. Each subgraph's
 * server.ts exports one as `definition`; nothing else is registered anywhere.
 */
export interface SubgraphDefinition<C extends SubgraphConfig = SubgraphConfig> {
  name: string;
  loadConfig(env?: NodeJS.ProcessEnv): C;
  create(options: { config: C; database: Database; log?: Logger; rateLimitStore?: RateLimitStore }): Pick<Subgraph<unknown>, 'name' | 'log' | 'listen' | 'stop' | 'stats' | 'events' | 'openStreams'>;
  migrate(database: Database): Promise<MigrationResult>;
  /** PGlite contrib extensions the migrations need (PostgreSQL gets them from CREATE EXTENSION). */
  pgliteExtensions?: Record<string, unknown>;
}

/** Opens a subgraph's database as configured: PostgreSQL with DATABASE_URL, PGlite otherwise. */
export function openSubgraphDatabase(definition: SubgraphDefinition, config: SubgraphConfig, poolMax = config.DATABASE_POOL_MAX): Promise<Database> {
  return createDatabase({
    service: definition.name,
    url: config.DATABASE_URL,
    poolMax,
    pgliteDataDir: config.PGLITE_DATA_DIR,
    ...(definition.pgliteExtensions ? { pgliteExtensions: definition.pgliteExtensions } : {}),
  });
}

/**
 * A subgraph's process: validate config (or exit 1), start tracing (service
 * name = subgraph name), open the database, survive postgres.js's known
 * lost-socket TypeError (process-guard.ts), listen, drain on SIGTERM. Its
 * index.ts imports '@suoke/platform/telemetry/start' first, so that the
 * libraries traced are loaded patched.
 */
export async function runSubgraph(definition: SubgraphDefinition): Promise<void> {
  const config = loadConfigOrExit(() => definition.loadConfig());
  const tracing = await startTracing({ serviceName: definition.name, config });
  const database = await openSubgraphDatabase(definition, config);
  const subgraph = definition.create({ config, database });
  installProcessGuard({ log: subgraph.log });
  const { url } = await subgraph.listen(config.PORT);
  subgraph.log.info({ url, database: database.kind, tracing: tracing.description }, `${definition.name} subgraph ready`);
  stopOnSignals(subgraph.log, async () => {
    await subgraph.stop();
    await database.close();
    await tracing.shutdown();
  });
}

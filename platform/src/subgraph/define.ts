import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, type DocumentNode } from 'graphql';
import type { AuthUser } from '../auth/index.js';
import type { Database } from '../db.js';
import type { EntityCaches } from '../entity-cache.js';
import type { SubgraphFeature } from '../feature.js';
import type { HttpAppOptions } from '../http.js';
import { signingKeyRing } from '../auth/index.js';
import { fragmentSpecUrls, linkedSpecUrls } from '../fragments.js';
import type { EventBus } from '../live/index.js';
import { createLogger, type Logger } from '../logger.js';
import type { SloName } from '../metrics.js';
import { runMigrations, type MigrationResult } from '../migrate.js';
import type { RateLimitStore } from '../rate-limit/index.js';
import type { Subgraph, SubgraphConfig } from './options.js';
import type { SubgraphDefinition } from './run.js';
import { createSubgraph } from './server.js';

/** What `create` is given: by runSubgraph, the scripts and the test harnesses alike. */
export interface CreateOptions<C> {
  config: C;
  database: Database;
  log?: Logger;
  rateLimitStore?: RateLimitStore;
}

/**
 * What a subgraph's runtime, resolvers and loaders are built from. `options`
 * holds the extra `create` options the subgraph accepts (test doubles such as
 * a replaced model provider); each must be optional.
 */
export interface SubgraphSetup<C, O> {
  config: C;
  database: Database;
  log: Logger;
  options: Partial<O>;
}

/** Work that follows the subgraph's own listen and stop (job engines, sweepers, pools). */
export interface SubgraphExtension {
  /** Before the HTTP server listens (and before Apollo starts). */
  beforeListen?(): Promise<void>;
  /** Once it listens: `host` is what listen was given. */
  afterListen?(bound: { port: number; url: string; host?: string | undefined }): Promise<void>;
  /** After the subgraph has drained and stopped. */
  stop?(): Promise<void>;
}

/**
 * The extra runtime of a subgraph that has more than resolvers over its
 * database: model providers, sagas, job engines, media stores. Built before the
 * schema, since resolvers take its services.
 */
export interface SubgraphRuntime<S extends object, L> {
  /** Handed to `resolvers` and `loaders`, and spread into the built subgraph (tests reach them there). */
  services: S;
  /** An event bus published to outside requests: the runtime closes it itself, after the subgraph stopped. */
  events?: EventBus;
  /** Routes under a path prefix that authorise requests themselves (an embedded media store's signed URLs). */
  prefixRoutes?: HttpAppOptions<object>['prefixRoutes'];
  /** Called once the subgraph is built: watch its metrics, and return what listen and stop must add. */
  extend?(subgraph: Subgraph<L>): SubgraphExtension;
}

export type SubgraphLoaders<C, O, S, L> = (
  database: Database,
  user: AuthUser | undefined,
  entities: EntityCaches,
  setup: SubgraphSetup<C, O> & { services: S },
) => L;

export interface SubgraphSpec<C extends SubgraphConfig, L, S extends object = object, O extends object = object, M extends object = object> {
  name: string;
  /** The SDL: a file URL or path (read once, at definition), or a parsed document. */
  schema: URL | string | DocumentNode;
  /** Validates the environment into this subgraph's config (its own zod schema over subgraphEnv). */
  loadConfig(env?: NodeJS.ProcessEnv): C;
  /** The folder of committed `NNNN_description.sql` files, applied to the Postgres schema named after the subgraph. */
  migrations: URL | string;
  /** Run after the SQL migrations on every migrate (content that ships with the schema); its result joins migrate's. */
  afterMigrate?: (database: Database) => Promise<M>;
  /** Cross-cutting features this subgraph assembles (platform/src/<feature>/index.ts): their SDL and migrations join its own. */
  features?: readonly SubgraphFeature[];
  /** The resolver map, or a function of the setup that builds it. */
  resolvers: object | ((setup: SubgraphSetup<C, O> & { services: S }) => object);
  /** Per-request DataLoaders (createLoaders), never shared between users. */
  loaders: SubgraphLoaders<C, O, S, L>;
  /** PGlite contrib extensions the migrations need (PostgreSQL gets them from CREATE EXTENSION). */
  pgliteExtensions?: Record<string, unknown>;
  /** The SLO its operations count against; `agent` for subgraphs whose operations wait on a model. */
  slo?: SloName;
  /** Serves the public halves of `signingKeyRing(name)` at /.well-known/jwks.json (subgraphs that sign tokens). */
  signingKeys?: boolean;
  runtime?: (setup: SubgraphSetup<C, O>) => SubgraphRuntime<S, L>;
}

/** A subgraph built by `create`: the platform's subgraph, with the runtime's services. */
export type DefinedInstance<L, S> = Subgraph<L> & S;

/** What defineSubgraph returns: the SubgraphDefinition everything starts a subgraph through, and its parts. */
export interface DefinedSubgraph<C extends SubgraphConfig, L, S, O, M> extends SubgraphDefinition<C> {
  typeDefs: DocumentNode;
  /** The SQL migrations folder, as a path ending in a slash. */
  migrationsDir: string;
  features: readonly SubgraphFeature[];
  create(options: CreateOptions<C> & Partial<O>): DefinedInstance<L, S>;
  migrate(database: Database): Promise<MigrationResult & M>;
}

/**
 * A feature is opted into twice, and both must agree: its SDL fragment joins a
 * subgraph that links its spec (compose and codegen read only the SDL), its
 * migrations join the subgraph that lists it in `features`.
 */
function checkFeatureLinks(name: string, typeDefs: DocumentNode, features: readonly SubgraphFeature[]): void {
  const linked = new Set(linkedSpecUrls(typeDefs));
  const problems = [
    ...features.filter((f) => f.specUrl && !linked.has(f.specUrl)).map((f) => `lists feature ${f.name} but its SDL does not @link ${f.specUrl}`),
    ...fragmentSpecUrls()
      .filter((url) => linked.has(url) && !features.some((f) => f.specUrl === url))
      .map((url) => `links ${url} but lists no feature with that spec in features`),
  ];
  if (problems.length > 0) throw new Error(`subgraph ${name}: ${problems.join('; ')}`);
}

/**
 * A subgraph from its parts: SDL, resolvers, loaders, migrations, features and,
 * for subgraphs with more than a database behind them, a runtime. Its server.ts
 * exports the result as `definition`; its index.ts runs it with runSubgraph.
 */
export function defineSubgraph<C extends SubgraphConfig, L, S extends object = object, O extends object = object, M extends object = object>(
  spec: SubgraphSpec<C, L, S, O, M>,
): DefinedSubgraph<C, L, S, O, M> {
  const typeDefs = typeof spec.schema === 'string' || spec.schema instanceof URL ? parse(readFileSync(spec.schema, 'utf8')) : spec.schema;
  const migrationsDir = directoryPath(spec.migrations);
  const features = spec.features ?? [];
  checkFeatureLinks(spec.name, typeDefs, features);

  function create(options: CreateOptions<C> & Partial<O>): DefinedInstance<L, S> {
    const { config, database } = options;
    const log =
      options.log ?? createLogger({ service: spec.name, level: config.LOG_LEVEL, format: config.LOG_FORMAT, nodeEnv: config.NODE_ENV, file: config.LOG_FILE });
    const setup: SubgraphSetup<C, O> = { config, database, log, options };
    const runtime = spec.runtime?.(setup);
    const built = { ...setup, services: runtime?.services ?? ({} as S) };
    const subgraph = createSubgraph<L>({
      name: spec.name,
      typeDefs,
      resolvers: typeof spec.resolvers === 'function' ? spec.resolvers(built) : spec.resolvers,
      config,
      database,
      createLoaders: (db, user, entities) => spec.loaders(db, user, entities, built),
      log,
      features,
      ...(spec.slo ? { slo: spec.slo } : {}),
      ...(spec.signingKeys ? { signingKeys: signingKeyRing(spec.name, config) } : {}),
      ...(runtime?.events ? { events: runtime.events } : {}),
      ...(runtime?.prefixRoutes ? { prefixRoutes: runtime.prefixRoutes } : {}),
      ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
    });
    const extension = runtime?.extend?.(subgraph);
    if (!extension) return { ...subgraph, ...built.services };
    return {
      ...subgraph,
      ...built.services,
      async listen(port?: number, host?: string) {
        await extension.beforeListen?.();
        const bound = await subgraph.listen(port, host);
        await extension.afterListen?.({ ...bound, host });
        return bound;
      },
      async stop() {
        await subgraph.stop();
        await extension.stop?.();
      },
    };
  }

  return {
    name: spec.name,
    typeDefs,
    migrationsDir,
    features,
    loadConfig: (env) => spec.loadConfig(env),
    create,
    async migrate(database) {
      const result = await runMigrations(database, spec.name, migrationsDir, features);
      const after = spec.afterMigrate ? await spec.afterMigrate(database) : ({} as M);
      return { ...result, ...after };
    },
    ...(spec.pgliteExtensions ? { pgliteExtensions: spec.pgliteExtensions } : {}),
  };
}

function directoryPath(dir: URL | string): string {
  const path = dir instanceof URL ? fileURLToPath(dir) : dir;
  return path.endsWith('/') ? path : `${path}/`;
}

// What a subgraph is configured with and what it hands its resolvers: the types createSubgraph and defineSubgraph share.
import type { ApolloServer, ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { z } from 'zod';
import type { AuditCollector, AuditPluginOptions } from '../audit/index.js';
import type { AuthUser } from '../auth/index.js';
import { baseEnv, databaseEnv, portSchema, type BaseConfig, type DatabaseConfig } from '../config.js';
import type { Database } from '../db.js';
import type { EntityCaches } from '../entity-cache.js';
import type { SubgraphFeature } from '../feature.js';
import type { HttpAppOptions } from '../http.js';
import type { KeyRing } from '../auth/index.js';
import type { EventBus, ContextEvents, LiveConfig } from '../live/index.js';
import { liveEnv } from '../live/index.js';
import type { Logger } from '../logger.js';
import type { ServiceMetrics, SloName } from '../metrics.js';
import type { RateLimitContext, RateLimitStore } from '../rate-limit/index.js';
import type { RequestSessions } from '../auth/index.js';

/** The environment every subgraph reads; a subgraph extends it with its own variables. */
export function subgraphEnv(defaultPort: number) {
  return baseEnv.extend(databaseEnv.shape).extend({ PORT: portSchema(defaultPort), ...entityCacheEnv, ...liveEnv });
}
export type SubgraphConfig = BaseConfig & DatabaseConfig & { PORT: number } & Partial<EntityCacheConfig> & Partial<LiveConfig>;

/** The multi-level cache of hot entities (entity-cache.ts), for subgraphs that use one. */
const entityCacheEnv = {
  /** `off`: every entity lookup reads the database. */
  ENTITY_CACHE: z.enum(['on', 'off']).default('on'),
  /** How long a replica keeps an entity in memory (L1); invalidations remove it sooner. */
  ENTITY_CACHE_LOCAL_TTL_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  /** Entities kept in memory per entity type. */
  ENTITY_CACHE_LOCAL_MAX: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
  /** How long an entity stays in Redis (L2), shared by the replicas; invalidations remove it sooner. */
  ENTITY_CACHE_TTL_MS: z.coerce.number().int().min(1_000).max(86_400_000).default(60_000),
};
type EntityCacheConfig = { ENTITY_CACHE: 'on' | 'off'; ENTITY_CACHE_LOCAL_TTL_MS: number; ENTITY_CACHE_LOCAL_MAX: number; ENTITY_CACHE_TTL_MS: number };

/** What every resolver receives. `loaders` is built once per request. */
export interface SubgraphContext<TLoaders> extends RateLimitContext {
  requestId: string;
  user?: AuthUser | undefined;
  loaders: TLoaders;
  database: Database;
  log: Logger;
  /** What this request read, wrote and was refused; written once when the response is sent (subgraphs with `audit`). */
  audit: AuditCollector;
  /** This process's cache of hot entities; writers invalidate through it. */
  entities: EntityCaches;
  /** Ends sign-ins: their access tokens are refused from then on, here, at the gateway and (with Redis) everywhere. */
  sessions: RequestSessions;
  /** Live events: publish after a commit; subscribe in a Subscription field's `subscribe`. */
  events: ContextEvents;
}

export interface SubgraphOptions<TLoaders> {
  name: string;
  /** The SLO this subgraph's operations count against (suoke_slo_operations_total): `agent` for the agent subgraph. */
  slo?: SloName;
  typeDefs: DocumentNode;
  /** Resolver map keyed by type name (the shape generated resolver types describe). */
  resolvers: object;
  config: SubgraphConfig;
  database: Database;
  /** Called once per request: per-request DataLoaders, never shared between users. */
  createLoaders: (database: Database, user: AuthUser | undefined, entities: EntityCaches) => TLoaders;
  log?: Logger;
  plugins?: ApolloServerPlugin<SubgraphContext<TLoaders>>[];
  /** Counters for @rateLimit; by default Redis when REDIS_URL is set, memory otherwise. */
  rateLimitStore?: RateLimitStore;
  /**
   * For subgraphs holding health data: write each request's audit events to
   * `<schema>.audit_events` (see audit.ts). Default: on, with the schema named
   * after the subgraph, when the SDL defines `AuditEvent` (a subgraph that
   * serves an audit log keeps one); off otherwise.
   */
  audit?: Omit<AuditPluginOptions, 'log'> | false;
  /** This subgraph's signing keys (user, agent, diagnosis): their public halves are served at /.well-known/jwks.json. */
  signingKeys?: KeyRing;
  /**
   * The process's event bus, when code outside requests publishes too (the diagnosis saga): its
   * creator closes it once that code has stopped. Default: one made here (Redis with REDIS_URL), closed by stop().
   */
  events?: EventBus;
  /** Routes under a path prefix that authorise requests themselves (createHttpServer's prefixRoutes). */
  prefixRoutes?: HttpAppOptions<object>['prefixRoutes'];
  /** The cross-cutting features the subgraph assembles (defineSubgraph passes its spec's): their SDL fragments join typeDefs. */
  features?: readonly SubgraphFeature[];
}

export interface Subgraph<TLoaders> {
  name: string;
  schema: GraphQLSchema;
  apollo: ApolloServer<SubgraphContext<TLoaders>>;
  log: Logger;
  /** This instance's Prometheus registry, served on GET /metrics. */
  metrics: ServiceMetrics;
  /** Requests received on /graphql by this instance. */
  stats: { graphqlRequests: number };
  /** The event bus; subscriptions are served at POST /graphql/stream when the schema has a Subscription type. */
  events: EventBus;
  /** Subscription streams open now (a function: subgraphs spread this object into their own). */
  openStreams(): number;
  /** Starts Apollo and listens; port 0 picks a free port. `metricsPort`: the separate /metrics port (METRICS_PORT), if any. */
  listen(port?: number, host?: string): Promise<{ port: number; url: string; metricsPort?: number | undefined }>;
  /**
   * Answers 503 on /health/ready at once, keeps answering requests for
   * SHUTDOWN_DELAY_MS, then stops accepting, lets in-flight requests finish
   * (up to SHUTDOWN_GRACE_MS) and stops Apollo.
   */
  stop(): Promise<void>;
}

export const GATEWAY_SECRET_HEADER = 'x-gateway-secret';

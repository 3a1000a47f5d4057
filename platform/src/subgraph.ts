import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, type DocumentNode, type GraphQLSchema } from 'graphql';
import { z } from 'zod';
import { auditPlugin, AuditCollector, currentTraceId, writeAuditEvents, type AuditPluginOptions } from './audit.js';
import { createTokenVerifier, userFromAuthorization, withAuthDirectives, type AuthUser } from './auth/index.js';
import { baseEnv, databaseEnv, portSchema, type BaseConfig, type DatabaseConfig } from './config.js';
import { JWKS_PATH, jwksRoute, type KeyRing } from './auth/index.js';
import { tokenVerifierOptions } from './auth/index.js';
import type { Database } from './db.js';
import { createErrorMasking } from './errors.js';
import { createHttpServer, type HttpAppOptions } from './http.js';
import { edgeFromConfig } from './http-edge.js';
import { metricsEndpoint } from './metrics-endpoint.js';
import { createRedis, redisReady } from './cache.js';
import { EntityCaches } from './entity-cache.js';
import { requestSessions, SessionDenyList, sessionEndedHeaderPlugin, type RequestSessions } from './auth/index.js';
import { applyRateLimits, CLIENT_IP_HEADER, decodeBudget, RATE_BUDGET_HEADER, RateLimitStore, withRateLimitDefaults, type RateLimitContext } from './rate-limit.js';
import { createLogger, type Logger } from './logger.js';
import { refuseNulCharacters } from './nul-guard.js';
import { ServiceMetrics, type SloName } from './metrics.js';
import { instrumentLoaders } from './telemetry/loaders.js';
import { explicitResolverCoordinates, traceResolvers } from './telemetry/resolvers.js';
import { tracingActive } from './telemetry/tracing.js';
import { contextEvents, createEventBus, liveEnv, STREAM_PATH, subgraphStreamEndpoint, type ContextEvents, type EventBus, type LiveConfig } from './live/index.js';

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

/**
 * Builds a subgraph: federation schema from SDL + resolvers with the auth
 * directives enforced, Apollo Server with masked errors, and the HTTP front.
 * Does not listen until `listen` is called, so tests can start it on port 0.
 */
export function createSubgraph<TLoaders>(options: SubgraphOptions<TLoaders>): Subgraph<TLoaders> {
  const { config, database } = options;
  const production = config.NODE_ENV === 'production';
  const log =
    options.log ?? createLogger({ service: options.name, level: config.LOG_LEVEL, format: config.LOG_FORMAT, nodeEnv: config.NODE_ENV, file: config.LOG_FILE });
  const redis = options.rateLimitStore || !config.REDIS_URL ? undefined : createRedis(config.REDIS_URL, log);
  const rateLimitStore = options.rateLimitStore ?? new RateLimitStore(redis);
  const metrics = new ServiceMetrics(options.name, { operationNames: config.METRICS_OPERATION_NAMES, ...(options.slo ? { slo: options.slo } : {}) });
  // With ENTITY_CACHE=off the caches pass every lookup through: loaders need no second path.
  const cacheOn = (config.ENTITY_CACHE ?? 'on') === 'on';
  const cacheRedis = cacheOn && config.REDIS_URL ? (redis ?? createRedis(config.REDIS_URL, log)) : undefined;
  const entities = new EntityCaches(
    {
      localMax: config.ENTITY_CACHE_LOCAL_MAX ?? 10_000,
      localTtlMs: config.ENTITY_CACHE_LOCAL_TTL_MS ?? 10_000,
      sharedTtlMs: config.ENTITY_CACHE_TTL_MS ?? 60_000,
      enabled: cacheOn,
    },
    cacheRedis,
    log,
    metrics.registry,
  );
  // Access tokens of ended sessions are refused here too, not only at the gateway (with Redis, whichever process ended them).
  const sessionRedis = config.REDIS_URL ? (redis ?? cacheRedis ?? createRedis(config.REDIS_URL, log)) : undefined;
  const sessions = new SessionDenyList(sessionRedis, log);
  sessions.start();
  const events = options.events ?? createEventBus(config, { log, maxBuffered: config.SUBSCRIPTION_BUFFER_EVENTS ?? 100 });
  const built = buildSubgraphSchema({
    typeDefs: withRateLimitDefaults(options.typeDefs),
    resolvers: withAuthDirectives(options.typeDefs, options.resolvers) as never,
  });
  const schema = config.RATE_LIMITS === 'on' ? applyRateLimits(built, rateLimitStore) : built;
  // Resolver spans only where a tracer provider is registered (startTracing), and
  // only around resolvers the subgraph wrote: property reads cost nothing.
  const tracing = tracingActive();
  if (tracing && config.TRACE_RESOLVERS === 'on') traceResolvers(schema, explicitResolverCoordinates(options.resolvers));
  const audit = options.audit ?? (definesType(options.typeDefs, 'AuditEvent') ? { schema: options.name } : false);
  metrics.watchRateLimits(rateLimitStore.stats);
  metrics.watchRateLimitInsurance(rateLimitStore);
  const redisClients = [redis, cacheRedis, sessionRedis].filter((client) => client !== undefined);
  if (redisClients.length > 0) metrics.watchRedis(redisClients);
  if (database.stats) metrics.watchDatabase(database.stats);
  // Forwarded client IP and rate budget are believed only from the gateway, which proves itself with the secret.
  const fromGateway = Boolean(config.GATEWAY_SECRET);
  const verify = createTokenVerifier(tokenVerifierOptions(config));

  const newLoaders = (user: AuthUser | undefined) =>
    instrumentLoaders(options.createLoaders(database, user, entities), { observe: metrics.observeLoaderBatch, spans: tracing });
  async function buildContext(req: IncomingMessage, requestId: string): Promise<SubgraphContext<TLoaders>> {
    const user = await userFromAuthorization(req.headers.authorization, verify);
    sessions.check(user);
    const forwardedIp = fromGateway ? header(req.headers[CLIENT_IP_HEADER]) : undefined;
    const rateLimit = {
      identity: { userId: user?.id, ip: forwardedIp ?? req.socket.remoteAddress ?? 'unknown' },
      store: config.RATE_LIMITS === 'on' ? rateLimitStore : undefined,
      budget: fromGateway ? decodeBudget(header(req.headers[RATE_BUDGET_HEADER])) : undefined,
    };
    const audit = new AuditCollector(user, requestId, currentTraceId(req.headers.traceparent));
    const context: SubgraphContext<TLoaders> = {
      ...{ requestId, user, database, loaders: newLoaders(user), log, rateLimit, audit, entities, sessions: requestSessions(sessions) },
      events: contextEvents(events, () => (context.loaders = newLoaders(user))),
    };
    return context;
  }

  let apolloRef: ApolloServer<SubgraphContext<TLoaders>> | undefined;
  const metricsAt = metricsEndpoint(config, metrics.handler, log);
  const errorMasking = createErrorMasking(log);
  const stream = subgraphStreamEndpoint<SubgraphContext<TLoaders>>({
    schema,
    log,
    config,
    context: buildContext,
    checkSession: (user) => sessions.check(user),
    formatError: errorMasking.formatError,
    // Each event sent is audited as a response would be.
    afterResult: audit
      ? async (context) => {
          const written = context.audit;
          context.audit = new AuditCollector(context.user, written.requestId, written.traceId);
          await writeAuditEvents(database, audit.schema, written);
        }
      : undefined,
  });
  const http = createHttpServer<SubgraphContext<TLoaders>>({
    get apollo() {
      return apolloRef!;
    },
    log,
    maxBodyBytes: config.MAX_BODY_BYTES,
    routes: { ...metricsAt.publicRoutes, ...(options.signingKeys ? { [JWKS_PATH]: jwksRoute(options.signingKeys) } : {}) },
    ...(stream ? { streams: { [STREAM_PATH]: stream.handle } } : {}),
    prefixRoutes: options.prefixRoutes,
    edge: edgeFromConfig(config),
    onGraphQLResponse: metrics.observeHttpResponse,
    ready: async () => {
      await database.ping();
      return true;
    },
    guard: config.GATEWAY_SECRET ? gatewaySecretGuard(config.GATEWAY_SECRET) : undefined,
    context: ({ req, requestId }) => buildContext(req, requestId),
  });
  const apollo = new ApolloServer<SubgraphContext<TLoaders>>({
    schema,
    logger: log,
    nodeEnv: config.NODE_ENV,
    introspection: !production,
    csrfPrevention: true,
    // Signals are ours (stopOnSignals): Apollo's own handler (on outside NODE_ENV=test) stops the server
    // and then re-sends the signal to the process, which cut our drain short before its last steps.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    formatError: errorMasking.formatError,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: http.server, stopGracePeriodMillis: config.SHUTDOWN_GRACE_MS }),
      // Federated (ftv1) traces serve Sandbox's per-field timings in development;
      // in production they would wrap every resolver for nothing.
      ...(production ? [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()] : []),
      // Apollo Server installs its cache-control plugin unless told not to; its willResolveField makes
      // Apollo wrap every resolver of every request. No schema here declares @cacheControl and nothing
      // caches whole responses, so it only cost CPU (bench/RESULTS.md, Tuning).
      ApolloServerPluginCacheControlDisabled(),
      // PostgreSQL text cannot hold U+0000: such input is refused before any resolver writes.
      refuseNulCharacters<SubgraphContext<TLoaders>>(),
      metrics.plugin<SubgraphContext<TLoaders>>(),
      errorMasking.plugin,
      ...(fromGateway ? [sessionEndedHeaderPlugin<SubgraphContext<TLoaders>>()] : []),
      ...(audit ? [auditPlugin<SubgraphContext<TLoaders>>({ ...audit, log })] : []),
      ...(options.plugins ?? []),
    ],
  });
  apolloRef = apollo;
  metrics.watchHttp(http.stats);
  if (stream) metrics.watchStreams(() => stream.open);

  let started = false;
  return {
    name: options.name,
    schema,
    apollo,
    log,
    metrics,
    stats: http.stats,
    events,
    openStreams: () => stream?.open ?? 0,
    async listen(port = config.PORT, host) {
      if (!started) {
        await apollo.start();
        if (redis) await redisReady(redis, log);
        else if (cacheRedis) await redisReady(cacheRedis, log);
        // Before answering: the sessions other replicas ended are refused from the first request on.
        if (!(await sessions.loaded(5_000))) log.warn('session deny-list not loaded within 5 s; ended sessions of other replicas are refused once it is');
        started = true;
      }
      const bound = await http.listen(port, host);
      const metricsPort = await metricsAt.listen(host);
      return { port: bound, url: `http://${host ?? 'localhost'}:${bound}/graphql`, metricsPort };
    },
    async stop() {
      // Readiness first: /health/ready answers 503 at once; requests are still answered for SHUTDOWN_DELAY_MS.
      http.beginDrain();
      // Every stream ends with SERVICE_UNAVAILABLE at once: the gateway resubscribes on another replica.
      await stream?.close();
      if (started && config.SHUTDOWN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
      if (started) await apollo.stop();
      else http.server.close();
      await metricsAt.close();
      await entities.close();
      sessions.close();
      if (sessionRedis && sessionRedis !== redis && sessionRedis !== cacheRedis) sessionRedis.disconnect();
      if (cacheRedis && cacheRedis !== redis) cacheRedis.disconnect();
      redis?.disconnect();
      if (!options.events) await events.close();
    },
  };
}

function definesType(typeDefs: DocumentNode, name: string): boolean {
  return typeDefs.definitions.some((def) => def.kind === Kind.OBJECT_TYPE_DEFINITION && def.name.value === name);
}

function header(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function gatewaySecretGuard(secret: string) {
  const expected = Buffer.from(secret);
  return (req: { headers: Record<string, string | string[] | undefined> }) => {
    const given = req.headers[GATEWAY_SECRET_HEADER];
    const buffer = Buffer.from(typeof given === 'string' ? given : '');
    if (buffer.length === expected.length && timingSafeEqual(buffer, expected)) return undefined;
    return { status: 401, message: 'This service accepts requests from the gateway only', code: 'UNAUTHENTICATED' };
  };
}

/** SIGTERM/SIGINT: drain, run `cleanup` (close the database), exit 0; a second signal exits at once. */
export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    // The same signal again is a person insisting (Ctrl-C twice): exit now. Another one is a supervisor
    // passing the stop on (Ctrl-C reaches `npm start` and its children at once, and it then sends
    // SIGTERM): the drain under way goes on, and flushes what it must.
    if (stopping) {
      if (signal === stopping) process.exit(1);
      return;
    }
    stopping = signal;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

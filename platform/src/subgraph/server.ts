import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, type DocumentNode } from 'graphql';
import { auditPlugin, AuditCollector, currentTraceId, writeAuditEvents } from '../audit/index.js';
import { createTokenVerifier, userFromAuthorization, withAuthDirectives, type AuthUser } from '../auth/index.js';
import { JWKS_PATH, jwksRoute } from '../auth/index.js';
import { tokenVerifierOptions } from '../auth/index.js';
import { createErrorMasking } from '../errors.js';
import { withFeatureFragments } from '../fragments.js';
import { createHttpServer } from '../http.js';
import { edgeFromConfig } from '../http-edge.js';
import { metricsEndpoint } from '../metrics-endpoint.js';
import { createRedis, redisReady } from '../cache.js';
import { EntityCaches } from '../entity-cache.js';
import { requestSessions, SessionDenyList, sessionEndedHeaderPlugin } from '../auth/index.js';
import { applyRateLimits, CLIENT_IP_HEADER, decodeBudget, RATE_BUDGET_HEADER, RateLimitStore, withRateLimitDefaults } from '../rate-limit/index.js';
import { createLogger } from '../logger.js';
import { refuseNulCharacters } from '../nul-guard.js';
import { ServiceMetrics } from '../metrics.js';
import { explicitResolverCoordinates, instrumentLoaders, traceResolvers, tracingActive } from '../telemetry/index.js';
import { contextEvents, createEventBus, STREAM_PATH, subgraphStreamEndpoint } from '../live/index.js';
import { GATEWAY_SECRET_HEADER, type Subgraph, type SubgraphContext, type SubgraphOptions } from './options.js';

/**
 * Builds a subgraph: federation schema from SDL + resolvers with the auth
 * directives enforced, Apollo Server with masked errors, and the HTTP front.
 * Does not listen until `listen` is called, so tests can start it on port 0.
 */
export function createSubgraph<TLoaders>(subgraphOptions: SubgraphOptions<TLoaders>): Subgraph<TLoaders> {
  // The SDL with the fragments of the features it links (audit, rate limits) appended, as compose and codegen append them.
  const options = { ...subgraphOptions, typeDefs: withFeatureFragments(subgraphOptions.typeDefs) };
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

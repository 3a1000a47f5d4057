import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginInlineTrace } from '@apollo/server/plugin/inlineTrace';
import {
  createErrorMasking,
  createHttpServer,
  createLogger,
  createRedis,
  createGatewayAuth,
  gatewayCaller,
  edgeFromConfig,
  metricsEndpoint,
  RateLimitStore,
  redisReady,
  rulesFromSupergraph,
  useRateLimits,
  type RateLimitRules,
  RedisKeyValueCache,
  ServiceMetrics,
  type Database,
  type Logger,
} from '@suoke/platform';
import { trustedDocumentsMode, type GatewayConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { clientIp } from './client-ip.js';
import { clientFromHeaders } from './client-identity.js';
import { clientAwareness } from './client-awareness.js';
import { metricsHandler, shareEndedSessions } from './cluster.js';
import { labelTrustedDocuments, subscriptionMetrics } from './metrics.js';
import { refuseSubscriptionsOverPost } from './subscription-over-post.js';
import { gatewayErrorFormatter } from './error-format.js';
import { queryLimitsFromConfig, useQueryLimits } from './security.js';
import type { SupergraphFileOptions } from './supergraph.js';
import { createPlanningGateway } from './planning.js';
import { boundedCache, createDocumentGuard, GuardedApolloServer } from './document-guard.js';
import { TrustedDocuments, type TrustedDocumentsOptions } from './trusted-documents.js';
import { createLiveServer } from './live/index.js';
import { LivePlanner } from './live/plan.js';
import type { Prepared } from './live/prepare.js';
import { sandboxLandingPage } from './live/sandbox.js';
import { createDefer } from './defer/index.js';
import { createUsageRecording } from './usage/index.js';
import { sloByQueryPlan } from './slo.js';

export interface GatewayOptions {
  config: GatewayConfig;
  /** Routing URL per subgraph name, replacing the supergraph's (SUBGRAPH_<NAME>_URL). */
  subgraphUrls?: Record<string, string>;
  log?: Logger;
  onSupergraphUpdate?: SupergraphFileOptions['onUpdate'];
  onTrustedDocumentsUpdate?: TrustedDocumentsOptions['onUpdate'];
  /**
   * Operation names kept as metric labels besides METRICS_OPERATION_NAMES, e.g. those of the
   * trusted-documents manifest; later manifests replace them through `metrics.setKnownOperationNames`.
   */
  knownOperationNames?: Iterable<string>;
  /** The usage store's database instead of the configured one (tests: their fresh database). */
  usageDatabase?: Database;
}

/**
 * The gateway: Apollo Gateway over the watched supergraph file, JWT verified at
 * the edge (a bad token never reaches planning), subgraph errors masked, Sandbox
 * in development only. In development Sandbox also gets the query plan
 * (`Apollo-Query-Plan-Experimental: 1`) and the federated trace with per-field
 * timings from every subgraph (`apollo-federation-include-trace: ftv1`); both
 * are off in production, where /metrics and OpenTelemetry spans remain.
 */
export function createGateway(options: GatewayOptions) {
  const { config } = options;
  const production = config.NODE_ENV === 'production';
  const log =
    options.log ?? createLogger({ service: 'gateway', level: config.LOG_LEVEL, format: config.LOG_FORMAT, nodeEnv: config.NODE_ENV, file: config.LOG_FILE });
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, log) : undefined;
  // Token verification and ended sessions (platform auth's gateway half).
  const auth = createGatewayAuth(config, redis, log);
  const { verify, sessions } = auth;
  // With several workers (GATEWAY_WORKERS), what one learns from the user subgraph goes to the others through the primary.
  const sessionsEnded = shareEndedSessions(sessions);
  const clientHeaders = { name: config.CLIENT_NAME_HEADER, version: config.CLIENT_VERSION_HEADER };
  const metrics = new ServiceMetrics('gateway', { operationNames: config.METRICS_OPERATION_NAMES, clients: { names: config.METRICS_CLIENT_NAMES } });
  if (options.knownOperationNames) metrics.setKnownOperationNames(options.knownOperationNames);
  // Field usage (usage/): which coordinates each client uses, and which subgraph served each field.
  const usage = config.USAGE_RECORDING === 'on' ? createUsageRecording({ config, log, ...(options.usageDatabase ? { database: options.usageDatabase } : {}) }) : undefined;
  // Operations whose plan reaches the agent subgraph count against the agent SLO (slo.ts).
  const slo = sloByQueryPlan();
  let trustedDocuments: TrustedDocuments | undefined;
  const { gateway, planCache, dataSources, streamTarget, subgraphClients } = createPlanningGateway({
    config,
    log,
    metrics,
    overrides: options.subgraphUrls ?? {},
    sessionsEnded,
    onSupergraphUpdate: options.onSupergraphUpdate,
    trustedDocuments: () => trustedDocuments,
    slo: slo.didResolveQueryPlan,
    usage: usage?.didResolveQueryPlan,
  });
  const rateLimitStore = new RateLimitStore(redis);
  metrics.watchRateLimits(rateLimitStore.stats);
  metrics.watchRateLimitInsurance(rateLimitStore);
  if (redis) metrics.watchRedis([redis]);
  let rules: RateLimitRules = { fields: new Map(), types: new Map() };
  const livePlanner = new LivePlanner();
  gateway.onSchemaLoadOrUpdate((schema) => {
    rules = rulesFromSupergraph(schema.coreSupergraphSdl);
    livePlanner.update(schema);
  });

  let started = false;
  let apolloRef: ApolloServer<GatewayContext> | undefined;
  let liveRef: ReturnType<typeof createLiveServer> | undefined;
  // With GATEWAY_WORKERS > 1 every worker listens on METRICS_PORT too (the cluster shares it) and answers with the sum.
  const metricsAt = metricsEndpoint(config, metricsHandler(metrics), log);
  const http = createHttpServer<GatewayContext>({
    get apollo() {
      return apolloRef!;
    },
    log,
    maxBodyBytes: config.MAX_BODY_BYTES,
    routes: metricsAt.publicRoutes,
    edge: edgeFromConfig(config),
    onGraphQLResponse: metrics.observeHttpResponse,
    // Subscriptions POSTed with a multipart (subscriptionSpec) or SSE accept header (live/http.ts); anything else goes on to Apollo.
    graphqlStream: (req, res, body) => liveRef?.handleHttp(req, res, body) ?? Promise.resolve(false),
    ready: async () => started,
    context: async ({ req, requestId }) => {
      const { user, authorization } = await gatewayCaller(req.headers.authorization, auth);
      return { requestId, user, authorization, clientIp: clientIp(req, config.TRUSTED_PROXY_HOPS), client: clientFromHeaders(req.headers, clientHeaders) };
    },
  });
  const queryGuard = useQueryLimits<GatewayContext>(queryLimitsFromConfig(config));
  const errorMasking = createErrorMasking(log);
  const trustedMode = trustedDocumentsMode(config);
  const formatError = gatewayErrorFormatter(errorMasking.formatError, { production });
  const documentGuard = createDocumentGuard<GatewayContext>({
    mode: trustedMode,
    get documents() {
      return trustedDocuments;
    },
    bypassRoles: config.TRUSTED_DOCUMENTS_BYPASS_ROLES,
    apqMaxBytes: config.APQ_MAX_BYTES,
    log,
    clientHeaders,
  });
  // @defer (defer/): Apollo Server is given the gateway with @defer declared and an executor that runs deferred plans.
  const defer = createDefer(gateway, { serviceMap: () => dataSources, formatError, telemetry: { includeDocument: false, recordExceptions: false } });
  const apollo = new GuardedApolloServer<GatewayContext>({
    gateway: defer.gateway,
    logger: log,
    nodeEnv: config.NODE_ENV,
    introspection: !production,
    csrfPrevention: true,
    // Signals are ours (stopOnSignals): Apollo's own handler (on outside NODE_ENV=test) stops the server
    // and then re-sends the signal to the process, which cut our drain short before its last steps.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    formatError,
    // Depth, aliases, directives, tokens, cost and `first`: hostile shapes never reach planning.
    validationRules: queryGuard.validationRules,
    parseOptions: queryGuard.parseOptions,
    ...(redis ? { cache: new RedisKeyValueCache(redis, log, 'suoke:gateway:') } : {}),
    // Apollo prefixes `apq:` (Redis: suoke:gateway:apq:<sha256>); without Redis, Apollo's bounded in-memory LRU.
    // The document guard refuses larger registrations with a code; the bounded cache never stores one regardless.
    persistedQueries: {
      ttl: config.APQ_TTL_SECONDS,
      ...(redis ? { cache: boundedCache(new RedisKeyValueCache(redis, log, 'suoke:gateway:'), config.APQ_MAX_BYTES) } : {}),
    },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: http.server, stopGracePeriodMillis: config.SHUTDOWN_GRACE_MS }),
      // A client that sends `apollo-federation-include-trace: ftv1` (Sandbox) gets the query plan's trace with each subgraph's.
      ...(production ? [ApolloServerPluginLandingPageDisabled()] : [ApolloServerPluginInlineTrace({ includeErrors: { masked: true } })]),
      // Development: Sandbox with its subscription endpoint set to this /graphql over WebSocket (live/sandbox.ts).
      ...(production ? [] : [sandboxLandingPage<GatewayContext>()]),
      // Before metrics: a trusted document's owner stands in for a missing client name (client-awareness.ts).
      clientAwareness({ documents: () => trustedDocuments, log }),
      metrics.plugin<GatewayContext>((context) => context.client, slo.sloOf),
      ...(usage ? [usage.plugin as ApolloServerPlugin<GatewayContext>] : []),
      errorMasking.plugin,
      refuseSubscriptionsOverPost<GatewayContext>(),
      // Before the rate limiter: an operation over a limit is answered as such.
      queryGuard.plugin,
      // Counted here only when subgraphs can trust the budget (the shared secret); otherwise each subgraph counts.
      ...(config.GATEWAY_SECRET && config.RATE_LIMITS === 'on' ? [useRateLimits({ store: rateLimitStore, rules: () => rules, log })] : []),
      // Last: the other plugins' willSendResponse see the initial result before it becomes an incremental response.
      defer.plugin as ApolloServerPlugin<GatewayContext>,
    ],
  }, documentGuard);
  apolloRef = apollo;
  // Subscriptions on the same /graphql: GraphQL over WebSocket, multipart HTTP and SSE (live/).
  const rateLimits = { store: rateLimitStore, rules: () => rules, log };
  const live = createLiveServer({
    planner: livePlanner,
    sessions,
    verify,
    log,
    limits: queryGuard,
    rateLimits: config.RATE_LIMITS === 'on' ? rateLimits : undefined,
    trusted: { mode: trustedMode, documents: () => trustedDocuments, bypassRoles: config.TRUSTED_DOCUMENTS_BYPASS_ROLES },
    trustedProxyHops: config.TRUSTED_PROXY_HOPS,
    clientHeaders,
    maxPerUser: config.GATEWAY_SUBSCRIPTIONS_MAX_PER_USER,
    max: config.GATEWAY_SUBSCRIPTIONS_MAX,
    keepAliveMs: config.GATEWAY_WS_KEEPALIVE_MS,
    httpHeartbeatMs: config.GATEWAY_HTTP_SUBSCRIPTION_HEARTBEAT_MS,
    observe: subscriptionMetrics(metrics),
    ...(usage
      ? { recordUsage: (p: Prepared) => usage.recordSubscription({ source: p.source, document: p.document, operationName: p.operationName, schema: p.schema.apiSchema, client: p.context.client, variables: p.variables }) }
      : {}),
    upstreamIdleMs: config.GATEWAY_SUBSCRIPTION_UPSTREAM_IDLE_MS,
    maxPayloadBytes: config.MAX_BODY_BYTES,
    gatewaySecret: config.GATEWAY_SECRET,
    serviceMap: () => dataSources,
    streamTarget,
    formatError,
  });
  live.attach(http.server);
  liveRef = live;
  metrics.watchHttp(http.stats);

  return {
    apollo,
    gateway,
    log,
    metrics,
    redis,
    rateLimitStore,
    /** Apollo Gateway's plan store: plans built on requests, plans made ahead of swaps (plan-cache.ts). */
    planCache,
    trustedMode,
    /** The trusted documents manifest in force (after listen), when one is configured. */
    get trustedDocuments() {
      return trustedDocuments;
    },
    sessions,
    /** Field usage recording (flush, store), when USAGE_RECORDING=on. */
    usage,
    /** Open subscriptions, every transport. */
    liveStats: live.stats,
    /** The HTTP front's counters (connections refused by the per-address cap, bytes inflated). */
    httpStats: http.stats,
    async listen(port = config.GATEWAY_PORT, host?: string) {
      if (!started) {
        if (trustedMode !== 'off' && config.TRUSTED_DOCUMENTS_PATH && !trustedDocuments) {
          // The manifest's operation names and owners become metric labels (metrics.ts).
          const labelNames = () => labelTrustedDocuments(metrics, options.knownOperationNames, trustedDocuments);
          trustedDocuments = await TrustedDocuments.load({
            source: config.TRUSTED_DOCUMENTS_PATH,
            log,
            pollMs: config.TRUSTED_DOCUMENTS_POLL_MS,
            onUpdate: (outcome) => {
              if (outcome.accepted) labelNames();
              options.onTrustedDocumentsUpdate?.(outcome);
            },
          });
          labelNames();
        }
        await apollo.start();
        await usage?.start();
        if (redis) await redisReady(redis, log);
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
      if (started && config.SHUTDOWN_DELAY_MS > 0) await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DELAY_MS));
      // Before Apollo's drain, which would cut the upgraded sockets: every stream ends with a reason first.
      await live.stop(config.SHUTDOWN_GRACE_MS);
      if (started) await apollo.stop();
      else http.server.close();
      // After the drain: the requests answered last are counted, and written before the process exits.
      await usage?.stop();
      await metricsAt.close();
      await subgraphClients.close();
      await trustedDocuments?.close();
      sessions.close();
      redis?.disconnect();
    },
  };
}

export { loadGatewayConfig, subgraphUrlOverrides } from './config.js';
export { acknowledgeSubgraphEnforcedFeatures } from './supergraph.js';
export { trustedDocumentIds, trustedDocumentOwner, trustedOperationNames } from './trusted-documents.js';

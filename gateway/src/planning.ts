import path from 'node:path';
import { ApolloGateway, type Experimental_DidResolveQueryPlanCallback, type ServiceMap } from '@apollo/gateway';
import type { Logger, ServiceMetrics } from '@suoke/platform';
import type { GatewayConfig } from './config.js';
import type { StreamTarget } from './live/index.js';
import { SuokeDataSource } from './datasource.js';
import { clientSettingsFromConfig, SubgraphClients } from './fetcher.js';
import { subgraphClientMetrics, subgraphFetchMetrics, supergraphReloadMetrics } from './metrics.js';
import { candidatesOfDocuments, PreplannedPlanCache } from './plan-cache.js';
import { supergraphFromFile, type SupergraphFileOptions } from './supergraph.js';
import type { TrustedDocuments } from './trusted-documents.js';

export interface PlanningOptions {
  config: GatewayConfig;
  log: Logger;
  metrics: ServiceMetrics;
  /** Routing URL per subgraph name, replacing the supergraph's (SUBGRAPH_<NAME>_URL). */
  overrides: Record<string, string>;
  /** What the sessions subgraph's answers say about ended sessions (cluster.ts shares it between workers). */
  sessionsEnded: (header: string) => void;
  onSupergraphUpdate?: SupergraphFileOptions['onUpdate'] | undefined;
  /** The trusted documents in force: their operations are planned ahead of a swap. */
  trustedDocuments: () => TrustedDocuments | undefined;
  /** Told of every resolved plan, in order, after the SLO split and before field usage. */
  slo: Experimental_DidResolveQueryPlanCallback;
  usage?: Experimental_DidResolveQueryPlanCallback | undefined;
}

/**
 * Apollo Gateway over the watched supergraph file: its data sources (one per
 * subgraph, over the pools, balancers and breakers made here and shared by every supergraph version), its plan store
 * (plan-cache.ts) and the plan hooks. Returns the data sources too, and where a
 * subscription streams: the subscriptions (live/) and @defer execute over them.
 */
export function createPlanningGateway(options: PlanningOptions) {
  const { config, log, metrics } = options;
  const observeFetch = subgraphFetchMetrics(metrics);
  const observeReload = supergraphReloadMetrics(metrics);
  // Pools, balancers and breakers per subgraph, shared by the data sources of every supergraph version.
  const subgraphClients: SubgraphClients = new SubgraphClients(
    (name) => clientSettingsFromConfig(config, name),
    log,
    subgraphClientMetrics(metrics, () => subgraphClients.all()),
    (client) => metrics.watchBreaker(client.breaker),
  );
  // Apollo Gateway (2.10+) sends anonymous usage metrics to Apollo, after probing cloud metadata
  // endpoints, unless APOLLO_TELEMETRY_DISABLED is set: a health platform sends nothing nobody asked
  // for, so it is off unless the operator sets the variable (to false) themselves.
  process.env.APOLLO_TELEMETRY_DISABLED ??= 'true';
  // The data sources Apollo Gateway plans queries with, kept for the subscriptions' events (live/), and each subgraph's routing.
  const dataSources: ServiceMap = {};
  const routings = new Map<string, string>();
  // Apollo Gateway's plan store, ours so that a swap can find the most used operations already planned (plan-cache.ts).
  const planCache = new PreplannedPlanCache({
    log,
    top: config.SUPERGRAPH_PREPLAN_TOP,
    trusted: () => candidatesOfDocuments(options.trustedDocuments()?.documents().values() ?? []),
  });
  const preparation = config.SUPERGRAPH_PREPLAN === 'on'
    ? {
        async prepare(sdl: string) {
          log.info(await planCache.prepare(sdl), 'supergraph pre-planned');
        },
        arm: (sdl: string) => void planCache.adoptOnNextSwap(sdl),
        settled: () => planCache.swapSettled(),
      }
    : undefined;
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphFromFile({
      file: path.resolve(config.SUPERGRAPH_PATH),
      log,
      pollMs: config.SUPERGRAPH_POLL_MS,
      onUpdate: (outcome) => {
        observeReload(outcome);
        options.onSupergraphUpdate?.(outcome);
      },
      ...(preparation ? { preparation } : {}),
    }),
    buildService: ({ name, url }) => {
      // One instance or several, comma-separated: SUBGRAPH_<NAME>_URL, else the supergraph's routing URL.
      const routing = options.overrides[name] ?? url ?? '';
      const client = subgraphClients.get(name, routing);
      // Its word on ended sessions is believed only from the subgraph that keeps them, and only behind the shared secret.
      const onSessionsEnded = config.GATEWAY_SECRET && name === config.SESSIONS_SUBGRAPH ? options.sessionsEnded : undefined;
      const source = new SuokeDataSource({ url: client.urls[0]!, name, gatewaySecret: config.GATEWAY_SECRET, observe: observeFetch, client, log, onSessionsEnded });
      dataSources[name] = source;
      routings.set(name, routing);
      return source;
    },
    logger: log,
    // Decided by our configuration, not by the process's NODE_ENV (Apollo's default).
    __exposeQueryPlanExperimental: config.NODE_ENV !== 'production',
    // gateway.request / gateway.plan / gateway.fetch spans: no GraphQL document (it may
    // hold literal input values) and no exception events (messages quote input).
    telemetry: { includeDocument: false, recordExceptions: false },
    queryPlannerConfig: { cache: planCache },
    experimental_didResolveQueryPlan: (resolved) => {
      options.slo(resolved);
      planCache.noteUse(resolved);
      options.usage?.(resolved);
    },
  });
  /** Where a subscription's stream goes: an instance of the subgraph's balancer, none while its breaker is open. */
  const streamTarget = (name: string): StreamTarget | undefined => {
    const routing = routings.get(name);
    if (routing === undefined) return undefined;
    const client = subgraphClients.get(name, routing);
    if (client.breaker.state === 'open') return undefined;
    const instance = client.balancer.pick();
    return instance && { url: instance.url, done: (outcome) => client.balancer.release(instance, outcome) };
  };
  return { gateway, planCache, dataSources, streamTarget, subgraphClients };
}

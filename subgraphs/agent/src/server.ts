import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import {
  createEventBus,
  createJobEngine,
  createLogger,
  createRedis,
  createSubgraph,
  signingKeyRing,
  gatewayClient,
  RedisKeyValueCache,
  type Database,
  type EventBus,
  type Logger,
  type RateLimitStore,
  type SubgraphDefinition,
} from '@suoke/platform';
import { loadAgentConfig, type AgentConfig } from './config.js';
import { createLoaders } from './loaders.js';
import { watchHedges, watchReplies } from './metrics.js';
import { migrate } from './migrate.js';
import { offlineProvider } from './providers/offline.js';
import { openAiCompatibleProvider } from './providers/openai.js';
import type { ChatProvider } from './providers/types.js';
import { createResolvers } from './resolvers/index.js';
import { AppointmentService } from './service/appointments.js';
import { gatewayCareKnowledge, type CareKnowledgeLookup } from './service/care-plans-knowledge.js';
import { CarePlanService, consentedReports, type ReportSource } from './service/care-plans.js';
import { delegationCredential, serviceCredential } from './service/credentials.js';
import { ExplanationService, gatewayReportKnowledge, type KnowledgeLookup } from './service/explanations.js';
import { gatewayKnowledgeSearch, type KnowledgeSearch } from './service/knowledge.js';
import { gatewayPersonalContext, personalCitations, summariseForProvider, type PersonalContextSource } from './service/personal-context.js';
import { ReplyService } from './service/replies.js';
import { MemoryReplyCache, RedisReplyCache, type ReplyCache } from './service/reply-cache.js';
import { ResilientCall, type BreakerPolicy } from './service/resilience.js';
import { StreamingReplies } from './service/streams.js';
import type { Appointments, PersonalData, Reminders } from './service/tools/deps.js';
import { ReplyTools } from './service/tools/pipeline.js';
import { gatewayNotifications, jobCredential, type PostNotification } from './service/notify.js';
import { ReminderService } from './service/reminders.js';
import { SeasonService, type ConstitutionOf } from './service/seasons-follow.js';

export const typeDefs = parse(readFileSync(new URL('../src/schema.graphql', import.meta.url), 'utf8'));

export interface AgentSubgraphOptions {
  config: AgentConfig;
  database: Database;
  log?: Logger;
  rateLimitStore?: RateLimitStore;
  /** Replaces the configured model provider (tests). */
  primary?: ChatProvider;
  /** Replaces the offline responder (tests). */
  offline?: ChatProvider;
  /** Replaces the gateway knowledge search (tests). */
  knowledge?: KnowledgeSearch;
  /** Replaces the gateway lookup of a report's constitutions and syndromes (tests). */
  reportKnowledge?: KnowledgeLookup;
  /** Reads a user's latest report with the user's consent (CONSENT_REQUIRED without it). Default: nothing is granted. */
  reports?: ReportSource;
  /** Replaces the gateway lookup of what care plans are built from (tests). */
  careKnowledge?: CareKnowledgeLookup;
  /** An event bus shared with other instances in this process (tests of replicas on the embedded default); not closed by `stop`. */
  events?: EventBus;
  /**
   * The user's consented context for replies and the personal tools (its mode is AGENT_PROVIDER_PHI); absent: nothing
   * personal is read. Reminders and appointments for their tools; absent: those tools are not offered.
   */
  personal?: Omit<PersonalData, 'mode'>;
  reminders?: Reminders;
  appointments?: Appointments;
  /**
   * The user's constitution code from their consented report, for seasonal advice (the integrator wires it to the
   * consented report read); without it every user gets the untailored advice.
   */
  constitutionOf?: ConstitutionOf;
  /** Replaces the gateway `postNotification` of reminders and seasonal messages (tests). */
  notify?: PostNotification;
}

/** Builds the agent subgraph without listening; index.ts and tests call `listen`. */
export function createAgentSubgraph(options: AgentSubgraphOptions) {
  const { config } = options;
  const log =
    options.log ?? createLogger({ service: 'agent', level: config.LOG_LEVEL, format: config.LOG_FORMAT, nodeEnv: config.NODE_ENV, file: config.LOG_FILE });
  const breaker: BreakerPolicy = {
    errorThresholdPercentage: config.BREAKER_ERROR_PERCENT,
    volumeThreshold: config.BREAKER_VOLUME,
    windowMs: config.BREAKER_WINDOW_MS,
    resetTimeoutMs: config.BREAKER_RESET_MS,
  };
  const offline = options.offline ?? offlineProvider({ chunkChars: config.OFFLINE_STREAM_CHUNK_CHARS, paceMs: config.OFFLINE_STREAM_PACE_MS });
  const primary = options.primary ?? configuredProvider(config) ?? offline;
  const modelCall =
    primary.kind === 'OFFLINE'
      ? undefined
      : new ResilientCall(
          'model-provider',
          {
            attempts: config.LLM_MAX_ATTEMPTS,
            timeoutMs: config.LLM_TIMEOUT_MS,
            baseDelayMs: config.LLM_RETRY_BASE_MS,
            maxDelayMs: config.LLM_RETRY_MAX_MS,
            hedgeDelayMs: config.LLM_HEDGE_DELAY_MS,
          },
          breaker,
          log,
        );
  // One attempt: a reply without citations beats a reply held up by retries against a sick gateway.
  const knowledgeCall = new ResilientCall('knowledge-search', { attempts: 1, timeoutMs: config.KNOWLEDGE_TIMEOUT_MS, baseDelayMs: 1, maxDelayMs: 1 }, breaker, log);
  const credential = serviceCredential(config);
  const knowledge = options.knowledge ?? gatewayKnowledgeSearch({ url: config.GATEWAY_URL, token: credential, call: knowledgeCall, log });
  const explanations = new ExplanationService({
    database: options.database,
    knowledge: options.reportKnowledge ?? gatewayReportKnowledge(gatewayClient({ url: config.GATEWAY_URL, token: credential, timeoutMs: config.KNOWLEDGE_TIMEOUT_MS })),
  });
  // The user's consented data, read through the gateway with a delegated token minted per message.
  const personal: Omit<PersonalData, 'mode'> = options.personal ?? {
    source: gatewayPersonalContext({ url: config.GATEWAY_URL, serviceToken: delegationCredential(config), log }),
    summarise: summariseForProvider,
    cite: personalCitations,
  };
  // XiaoKe: care plans (from the consented report and the knowledge base) and appointments.
  const care = {
    carePlans: new CarePlanService({
      database: options.database,
      reports: options.reports ?? consentedReports(personal.source),
      knowledge: options.careKnowledge ?? gatewayCareKnowledge(gatewayClient({ url: config.GATEWAY_URL, token: credential, timeoutMs: config.KNOWLEDGE_TIMEOUT_MS })),
    }),
    appointments: new AppointmentService({ database: options.database }),
  };
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, log) : undefined;
  const cache: ReplyCache = redis
    ? new RedisReplyCache(new RedisKeyValueCache(redis, log, config.REPLY_CACHE_PREFIX))
    : new MemoryReplyCache(config.REPLY_CACHE_MAX_ENTRIES);
  // 索儿's scheduled work: durable jobs in the agent's own schema, notifications through the gateway.
  const jobs = createJobEngine({
    database: options.database,
    schema: 'agent_jobs',
    log,
    // No cron here: reminders and solar terms are jobs due at their own instants.
    schedules: false,
    pollIntervalMs: config.JOBS_POLL_INTERVAL_MS,
    maintenanceIntervalSeconds: config.JOBS_MAINTENANCE_INTERVAL_SECONDS,
  });
  const notify =
    options.notify ?? gatewayNotifications(gatewayClient({ url: config.GATEWAY_URL, token: jobCredential(config), timeoutMs: config.KNOWLEDGE_TIMEOUT_MS }));
  const reminders = new ReminderService({ database: options.database, engine: jobs, notify, log });
  const seasons = new SeasonService({ database: options.database, engine: jobs, notify, constitutionOf: options.constitutionOf ?? consentedConstitution(personal.source, log), log });
  const tools = new ReplyTools({
    deps: {
      knowledge,
      personal: { ...personal, mode: config.AGENT_PROVIDER_PHI },
      reminders: options.reminders ?? reminders,
      appointments: options.appointments ?? care.appointments,
    },
    maxRounds: config.AGENT_MAX_TOOL_ROUNDS,
    log,
  });
  const replies = new ReplyService({
    primary,
    offline,
    resilience: modelCall,
    knowledge,
    tools,
    cache,
    cacheTtlSeconds: config.REPLY_CACHE_TTL_SECONDS,
    deadlineMs: config.LLM_DEADLINE_MS,
    streamIdleMs: config.LLM_TIMEOUT_MS,
    streamMaxMs: config.LLM_STREAM_MAX_MS,
    log,
  });
  // Made here, not by createSubgraph: streamed replies publish outside requests, and finish after the server stopped.
  const events = options.events ?? createEventBus(config, { log, maxBuffered: config.SUBSCRIPTION_BUFFER_EVENTS });
  const streams = new StreamingReplies({
    database: options.database,
    events,
    replies,
    log,
    persistMs: config.STREAM_PERSIST_MS,
    // Well past anything a live process lets a reply take: the deadline, the whole stream and the shutdown grace.
    abandonedAfterMs: config.LLM_DEADLINE_MS + config.LLM_STREAM_MAX_MS + config.STREAM_STOP_GRACE_MS + 60_000,
  });
  log.info(
    { provider: primary.kind, cache: cache.kind, gateway: config.GATEWAY_URL, hedgeDelayMs: modelCall ? (config.LLM_HEDGE_DELAY_MS ?? 'off') : undefined },
    'agent replies configured',
  );

  const subgraph = createSubgraph({
    name: 'agent',
    // Every operation here may wait on a model: the agent SLO (10 s), not the default one.
    slo: 'agent',
    typeDefs,
    resolvers: createResolvers({ replies, streams, explanations, historyTurns: config.LLM_HISTORY_TURNS, care, reminders, seasons }),
    config,
    database: options.database,
    createLoaders,
    log,
    signingKeys: signingKeyRing('agent', config),
    events,
    ...(options.rateLimitStore ? { rateLimitStore: options.rateLimitStore } : {}),
  });
  jobs.metrics(subgraph.metrics.registry);
  if (modelCall) subgraph.metrics.watchBreaker(modelCall);
  watchHedges(subgraph.metrics, modelCall);
  watchReplies(subgraph.metrics, replies.stats);
  subgraph.metrics.watchBreaker(knowledgeCall);
  return {
    ...subgraph,
    replies,
    tools,
    streams,
    /** XiaoKe's services, for the agent's tools (`book_appointment`). */
    care,
    modelCall,
    knowledgeCall,
    jobs,
    reminders,
    seasons,
    async listen(port?: number, host?: string) {
      const bound = await subgraph.listen(port, host);
      // Installs or migrates the job schema, starts the workers, and makes sure the next solar term is scheduled.
      await jobs.start();
      await seasons.ensureScheduled();
      // Replies left STREAMING by a process that died are ended FAILED from here on.
      streams.startSweeping();
      return bound;
    },
    async stop() {
      await subgraph.stop();
      await jobs.stop();
      await streams.stop(config.STREAM_STOP_GRACE_MS);
      if (!options.events) await events.close();
      modelCall?.shutdown();
      knowledgeCall.shutdown();
      redis?.disconnect();
    },
  };
}

export type AgentSubgraph = ReturnType<typeof createAgentSubgraph>;

/**
 * The constitution of the user's latest report, read with their consent (REPORTS), for tailoring seasonal advice;
 * null (the untailored advice) without a grant, without a report, or when it cannot be read now.
 */
function consentedConstitution(source: PersonalContextSource, log: Logger): ConstitutionOf {
  return async (userId) => {
    try {
      const context = await source.load(userId, ['REPORTS']);
      return context?.latestReport?.primaryConstitution ?? null;
    } catch (error) {
      log.warn({ err: error }, 'the report could not be read for seasonal advice: sending the untailored advice');
      return null;
    }
  };
}

function configuredProvider(config: AgentConfig): ChatProvider | undefined {
  if (config.LLM_PROVIDER !== 'openai-compatible' || !config.LLM_BASE_URL || !config.LLM_MODEL) return undefined;
  return openAiCompatibleProvider({ baseUrl: config.LLM_BASE_URL, apiKey: config.LLM_API_KEY, model: config.LLM_MODEL });
}

/** How the dev runner, scripts and end-to-end tests start this subgraph. */
export const definition: SubgraphDefinition<AgentConfig> = {
  name: 'agent',
  loadConfig: loadAgentConfig,
  create: createAgentSubgraph,
  migrate,
};

export { loadAgentConfig, migrate };

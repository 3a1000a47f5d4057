import {
  createEventBus,
  createJobEngine,
  createRedis,
  gatewayClient,
  RedisKeyValueCache,
  type EventBus,
  type Logger,
  type Subgraph,
  type SubgraphRuntime,
  type SubgraphSetup,
} from '@suoke/platform';
import type { AgentConfig } from './config.js';
import { watchHedges, watchReplies } from './metrics.js';
import { offlineProvider } from './providers/offline.js';
import { openAiCompatibleProvider } from './providers/openai.js';
import type { ChatProvider } from './providers/types.js';
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

/** What tests (and an integrator) may replace when they create the agent subgraph. */
export interface AgentOptions {
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

/**
 * The agent's work beyond its resolvers: the model provider behind retries, hedging and a breaker, knowledge
 * search, the user's consented context, care plans and appointments, reminders and seasonal messages on durable
 * jobs, the reply cache and streamed replies.
 */
export function agentRuntime({ config, database, log, options }: SubgraphSetup<AgentConfig, AgentOptions>) {
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
    database,
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
      database,
      reports: options.reports ?? consentedReports(personal.source),
      knowledge: options.careKnowledge ?? gatewayCareKnowledge(gatewayClient({ url: config.GATEWAY_URL, token: credential, timeoutMs: config.KNOWLEDGE_TIMEOUT_MS })),
    }),
    appointments: new AppointmentService({ database: database }),
  };
  const redis = config.REDIS_URL ? createRedis(config.REDIS_URL, log) : undefined;
  const cache: ReplyCache = redis
    ? new RedisReplyCache(new RedisKeyValueCache(redis, log, config.REPLY_CACHE_PREFIX))
    : new MemoryReplyCache(config.REPLY_CACHE_MAX_ENTRIES);
  // 索儿's scheduled work: durable jobs in the agent's own schema, notifications through the gateway.
  const jobs = createJobEngine({
    database,
    schema: 'agent_jobs',
    log,
    // No cron here: reminders and solar terms are jobs due at their own instants.
    schedules: false,
    pollIntervalMs: config.JOBS_POLL_INTERVAL_MS,
    maintenanceIntervalSeconds: config.JOBS_MAINTENANCE_INTERVAL_SECONDS,
  });
  const notify =
    options.notify ?? gatewayNotifications(gatewayClient({ url: config.GATEWAY_URL, token: jobCredential(config), timeoutMs: config.KNOWLEDGE_TIMEOUT_MS }));
  const reminders = new ReminderService({ database, engine: jobs, notify, log });
  const seasons = new SeasonService({ database, engine: jobs, notify, constitutionOf: options.constitutionOf ?? consentedConstitution(personal.source, log), log });
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
    database,
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

  return {
    services: { replies, tools, streams, explanations, care, modelCall, knowledgeCall, jobs, reminders, seasons },
    events,
    extend(subgraph: Subgraph<unknown>) {
      jobs.metrics(subgraph.metrics.registry);
      if (modelCall) subgraph.metrics.watchBreaker(modelCall);
      watchHedges(subgraph.metrics, modelCall);
      watchReplies(subgraph.metrics, replies.stats);
      subgraph.metrics.watchBreaker(knowledgeCall);
      return {
        async afterListen() {
          // Installs or migrates the job schema, starts the workers, and makes sure the next solar term is scheduled.
          await jobs.start();
          await seasons.ensureScheduled();
          // Replies left STREAMING by a process that died are ended FAILED from here on.
          streams.startSweeping();
        },
        async stop() {
          await jobs.stop();
          await streams.stop(config.STREAM_STOP_GRACE_MS);
          if (!options.events) await events.close();
          modelCall?.shutdown();
          knowledgeCall.shutdown();
          redis?.disconnect();
        },
      };
    },
  } satisfies SubgraphRuntime<object, unknown>;
}

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

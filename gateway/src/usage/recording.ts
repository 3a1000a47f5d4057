import type { ApolloServerPlugin, GraphQLRequestContextDidResolveOperation } from '@apollo/server';
import type { Experimental_DidResolveQueryPlanCallback } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import { createHash } from 'node:crypto';
import type { DocumentNode, GraphQLSchema } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { Database, Logger } from '@suoke/platform';
import { storeUrl, type UsageConfig } from './config.js';
import { operationUsage, type OperationUsage } from './extract.js';
import { planCoordinates } from './plan.js';
import { capClientValue, mergeBatches, UsageRecorder, type Batch } from './recorder.js';
import { embeddedDir, UsageStore } from './store.js';
import { readerFile, serveReader } from './serve.js';

/** Documents whose usage is kept computed, per schema; Apollo's own document cache is of the same order. */
const DOCUMENTS_CACHED = 2_000;

export interface UsageRecording {
  /** Apollo Server plugin: records the operations that passed validation. */
  plugin: ApolloServerPlugin<object>;
  /** ApolloGateway's `experimental_didResolveQueryPlan`: which subgraph served each field. */
  didResolveQueryPlan: Experimental_DidResolveQueryPlanCallback;
  /**
   * A subscription as the live path (live/) opened it: its coordinates, per client, like any operation.
   * The fields its events are completed with are in the document too; which subgraph served them is
   * not recorded for subscriptions (their plans run per event, outside Apollo Gateway's callback).
   */
  recordSubscription(subscription: { source: string; document: DocumentNode; operationName: string | undefined; schema: GraphQLSchema; client: { name?: string; version?: string } | undefined; variables: Record<string, unknown> | undefined }): void;
  /** Opens (and migrates) the store and starts the flush timer; a store that cannot be reached is retried at each flush. */
  start(): Promise<void>;
  /** Writes what is counted so far (the timer does it every USAGE_FLUSH_MS). */
  flush(): Promise<void>;
  /** Flushes, then closes the store: at SIGTERM the last interval is kept. */
  stop(): Promise<void>;
  /** The open store (tests read it); undefined before start or while unreachable. */
  readonly store: UsageStore | undefined;
  readonly recorder: UsageRecorder;
}

export function createUsageRecording(options: { config: UsageConfig; log: Logger; database?: Database }): UsageRecording {
  const { config, log } = options;
  const recorder = new UsageRecorder({ sampleRate: config.USAGE_SAMPLE_RATE, maxClientsPerHour: config.USAGE_MAX_CLIENTS_PER_HOUR });
  let documents: { schema: GraphQLSchema; cache: LRUCache<string, OperationUsage> } | undefined;
  const plans = new WeakMap<QueryPlan, [string, string][]>();
  // Contexts of the sampled operations that passed validation: only their plans are counted.
  const sampled = new WeakSet<object>();
  let recordErrorLogged = false;
  const failedToRecord = (error: unknown) => {
    if (recordErrorLogged) return;
    recordErrorLogged = true;
    log.warn({ err: error }, 'usage recording failed for an operation (logged once); the request is unaffected');
  };

  /** The document's usage, computed once per (document hash, operation name, schema). */
  const cachedUsage = (queryHash: string, document: DocumentNode, operationName: string | null | undefined, schema: GraphQLSchema): OperationUsage => {
    if (documents?.schema !== schema) documents = { schema, cache: new LRUCache({ max: DOCUMENTS_CACHED }) };
    const key = `${queryHash}\u0001${operationName ?? ''}`;
    let usage = documents.cache.get(key);
    if (!usage) documents.cache.set(key, (usage = operationUsage(document, operationName, schema)));
    return usage;
  };
  const usageOf = (ctx: GraphQLRequestContextDidResolveOperation<object>): OperationUsage => cachedUsage(ctx.queryHash, ctx.document, ctx.operationName, ctx.schema);

  const plugin: ApolloServerPlugin<object> = {
    async requestDidStart() {
      if (!recorder.sample()) return;
      return {
        // Reached only by operations that parsed and validated: the others are not usage.
        async didResolveOperation(ctx) {
          try {
            // Built by the gateway's context (client-identity.ts), a trusted document's owner filled in at didResolveSource.
            const client = (ctx.contextValue as { client?: { name?: string; version?: string } }).client;
            recorder.record(usageOf(ctx), { name: capClientValue(client?.name), version: capClientValue(client?.version) }, ctx.request.variables);
            sampled.add(ctx.contextValue);
          } catch (error) {
            failedToRecord(error);
          }
        },
      };
    },
  };

  const didResolveQueryPlan: Experimental_DidResolveQueryPlanCallback = ({ queryPlan, requestContext }) => {
    try {
      if (!sampled.has(requestContext.context as object)) return;
      let pairs = plans.get(queryPlan);
      if (!pairs) plans.set(queryPlan, (pairs = planCoordinates(queryPlan, requestContext.schema)));
      recorder.recordPlan(queryPlan, pairs);
    } catch (error) {
      failedToRecord(error);
    }
  };

  let store: UsageStore | undefined;
  let reader: { close(): Promise<void> } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unwritten: Batch = { usage: [], subgraphs: [] };
  let failing = 0;
  let dropped = 0;
  let running: Promise<void> | undefined;
  let lastRetention = 0;

  const open = async () => {
    if (store) return store;
    const dir = embeddedDir(config);
    const fileBacked = !storeUrl(config) && !options.database && !dir.startsWith('memory://');
    // A folder another gateway holds is refused by UsageStore.open (lock.ts): counts wait (bounded)
    // and the store is tried again at each flush, so this one takes over when the other stops.
    store = await UsageStore.open(config, options.database ? { database: options.database } : {});
    // Only a file-backed embedded store has readers outside this process (npm run usage).
    if (fileBacked) reader = await serveReader(store, readerFile(config));
    return store;
  };

  const flushOnce = async () => {
    const batch = mergeBatches(unwritten, recorder.drain(), config.USAGE_MAX_PENDING_ROWS);
    dropped += batch.dropped;
    unwritten = { usage: [], subgraphs: [] };
    if (batch.usage.length === 0 && batch.subgraphs.length === 0) return;
    try {
      const target = await open();
      await target.write(batch);
      if (failing > 0 || dropped > 0) log.info({ failedFlushes: failing, droppedRows: dropped }, 'usage store written again');
      failing = 0;
      dropped = 0;
      if (Date.now() - lastRetention >= 3_600_000) {
        lastRetention = Date.now();
        await target.retention(config.USAGE_RETENTION_DAYS);
      }
    } catch (error) {
      // Kept for the next flush (bounded by USAGE_MAX_PENDING_ROWS); one warning per outage.
      unwritten = batch;
      if (failing === 0) log.warn({ err: error, rows: batch.usage.length + batch.subgraphs.length }, 'usage flush failed; counts kept for the next flush');
      failing += 1;
    }
  };

  const flush = (): Promise<void> => {
    // One flush at a time; a call during one waits for it and then runs its own.
    const next = (running ?? Promise.resolve()).then(flushOnce);
    running = next.finally(() => {
      if (running === tracked) running = undefined;
    });
    const tracked = running;
    return next;
  };

  const recordSubscription: UsageRecording['recordSubscription'] = ({ source, document, operationName, schema, client, variables }) => {
    try {
      if (!recorder.sample()) return;
      // The same key Apollo Server gives a query's text (sha256 hex), so a document used both ways shares one entry.
      const queryHash = createHash('sha256').update(source).digest('hex');
      recorder.record(cachedUsage(queryHash, document, operationName, schema), { name: capClientValue(client?.name), version: capClientValue(client?.version) }, variables);
    } catch (error) {
      failedToRecord(error);
    }
  };

  return {
    plugin,
    didResolveQueryPlan,
    recordSubscription,
    recorder,
    get store() {
      return store;
    },
    async start() {
      try {
        await open();
      } catch (error) {
        log.warn({ err: error }, 'usage store not reachable at start; counts are kept and the store is tried again at each flush');
      }
      timer = setInterval(() => void flush(), config.USAGE_FLUSH_MS);
      timer.unref();
    },
    flush,
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await flush();
      await reader?.close();
      reader = undefined;
      if (store && !options.database) await store.close();
      store = undefined;
    },
  };
}

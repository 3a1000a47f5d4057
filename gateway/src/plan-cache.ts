import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Experimental_DidResolveQueryPlanCallback } from '@apollo/gateway';
import type { QueryPlan, QueryPlanCache } from '@apollo/query-planner';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { Kind, parse } from 'graphql';
import type { Logger } from '@suoke/platform';

/** A document the gateway can plan ahead: its text and the operation a request names (none when it names none). */
export interface PlanCandidate {
  source: string;
  operationName: string | undefined;
}

/** What one pre-planning run did, for the log line, the metrics and the tests. */
export interface PreplanOutcome {
  /** Plans built against the new supergraph (one per distinct cache key). */
  planned: number;
  /** Documents the new supergraph cannot serve (unknown fields, removed types, …): skipped, never a reason to refuse the swap. */
  invalid: number;
  /** Candidates considered: the trusted documents' operations, then the most used operations of the current cache. */
  candidates: number;
  /** Wall time of the run in milliseconds (planning happens while the previous supergraph keeps serving). */
  ms: number;
}

export interface PlanCacheOptions {
  log: Logger;
  /** How many of the current cache's most used operations are planned again before a swap (SUPERGRAPH_PREPLAN_TOP; 0: none). */
  top: number;
  /** Documents planned before every swap whatever their use: the trusted documents manifest in force. */
  trusted?: () => Iterable<PlanCandidate>;
  /** How long pre-planning may take before the swap goes ahead without it (default 60 s). */
  timeoutMs?: number;
  /** Apollo Gateway's default store size (30 MiB, measured as it measures it). */
  approximateMiB?: number;
}

/** Operations whose use is remembered at most (by their text); beyond it the least used half is forgotten. */
const MAX_TRACKED = 10_000;

interface Tracked extends PlanCandidate {
  key: string;
  hits: number;
}

/**
 * Apollo Gateway's query plan store, given to it as `queryPlannerConfig.cache`
 * (its public option for a store of one's own). Apollo reads and writes it per
 * request under its own keys and calls `clear()` when it swaps in a new
 * supergraph, right before it builds the new planner. `prepare(sdl)` plans the
 * most used operations against the NEW supergraph beforehand, with the public
 * QueryPlanner, while the previous one keeps serving; the `clear()` of the swap
 * that follows then adopts those plans instead of emptying the store, so the
 * first requests after the swap find their plans. A swap that was not prepared
 * (the first load, a failed preparation) clears as Apollo's own store would.
 */
export class PreplannedPlanCache implements QueryPlanCache {
  private store: InMemoryLRUCache<QueryPlan>;
  private prepared: { store: InMemoryLRUCache<QueryPlan>; sdl: string } | undefined;
  /** Operations by `queryHash \0 operationName`: their text, their store key and how often they were planned or served. */
  private tracked = new Map<string, Tracked>();
  /** Plans Apollo built on a request (a store miss), against plans made ahead: the counters the tests and metrics read. */
  readonly stats = { plannedOnRequest: 0, preplanned: 0, adoptedSwaps: 0, lastPreplan: undefined as PreplanOutcome | undefined };
  private readonly maxSize: number;

  constructor(private readonly options: PlanCacheOptions) {
    this.maxSize = 2 ** 20 * (options.approximateMiB ?? 30);
    this.store = this.newStore();
  }

  private newStore(): InMemoryLRUCache<QueryPlan> {
    return new InMemoryLRUCache<QueryPlan>({ maxSize: this.maxSize, sizeCalculation: approximateSize });
  }

  async get(key: string): Promise<QueryPlan | undefined> {
    return this.store.get(key);
  }

  async set(key: string, plan: QueryPlan): Promise<void> {
    // Apollo stores a plan only after building it for a request that missed.
    this.stats.plannedOnRequest += 1;
    await this.store.set(key, plan);
  }

  async delete(key: string): Promise<boolean | void> {
    return this.store.delete(key);
  }

  /**
   * Called by Apollo Gateway as it swaps supergraphs. Its `update` callback is
   * synchronous up to this call, so the plans adopted are those prepared for
   * the supergraph being swapped in: `adoptOnNextSwap` arms them right before
   * `update`, and only for the exact text `prepare` planned against.
   */
  clear(): void {
    const prepared = this.adopting;
    this.adopting = undefined;
    if (prepared) {
      this.store = prepared.store;
      this.stats.adoptedSwaps += 1;
      return;
    }
    this.store = this.newStore();
  }

  private adopting: { store: InMemoryLRUCache<QueryPlan> } | undefined;

  /** Arms the next `clear()` with the plans prepared for `sdl`, if they were; returns whether it did. */
  adoptOnNextSwap(sdl: string): boolean {
    const prepared = this.prepared;
    this.prepared = undefined;
    if (!prepared || prepared.sdl !== sdl) return false;
    this.adopting = prepared;
    return true;
  }

  /** Disarms what `adoptOnNextSwap` armed if the swap did not happen (Apollo saw no change, or refused it). */
  swapSettled(): void {
    this.adopting = undefined;
  }

  /**
   * `experimental_didResolveQueryPlan`: runs for every operation Apollo Gateway
   * plans or serves from the store; remembers the operation's text under
   * Apollo's store key and counts its use. A Map lookup per request; the key's
   * hash only the first time an operation is seen.
   */
  readonly noteUse: Experimental_DidResolveQueryPlanCallback = ({ requestContext }) => {
    const queryHash = requestContext.queryHash;
    const source = requestContext.source;
    if (!queryHash || !source) return;
    const operationName = requestContext.request.operationName ?? undefined;
    const id = operationName ? `${queryHash}\0${operationName}` : queryHash;
    const known = this.tracked.get(id);
    if (known) {
      known.hits += 1;
      return;
    }
    if (this.tracked.size >= MAX_TRACKED) this.forgetLeastUsed();
    this.tracked.set(id, { source, operationName, key: storeKey(queryHash, operationName), hits: 1 });
  };

  private forgetLeastUsed(): void {
    const ordered = [...this.tracked.entries()].sort((a, b) => a[1].hits - b[1].hits);
    for (const [id] of ordered.slice(0, Math.ceil(ordered.length / 2))) this.tracked.delete(id);
  }

  /** The trusted documents' operations first, then the `top` most used operations, each once (by store key). */
  candidates(): Tracked[] {
    const byKey = new Map<string, Tracked>();
    for (const candidate of this.options.trusted?.() ?? []) {
      const key = storeKey(sha256(candidate.source), candidate.operationName);
      if (!byKey.has(key)) byKey.set(key, { ...candidate, key, hits: 0 });
    }
    const used = [...this.tracked.values()].sort((a, b) => b.hits - a.hits).slice(0, this.options.top);
    for (const entry of used) if (!byKey.has(entry.key)) byKey.set(entry.key, entry);
    return [...byKey.values()];
  }

  /**
   * Plans every candidate against `sdl` (the supergraph about to be swapped in,
   * as Apollo Gateway will be given it) with the public QueryPlanner, in a
   * worker thread: building a Supergraph and its planner takes hundreds of
   * milliseconds of synchronous work, which on the main thread would stall the
   * supergraph that is still serving. A document the new supergraph rejects is
   * counted and skipped. Rejects if the supergraph cannot be built or the
   * worker fails or times out; the caller swaps anyway.
   */
  async prepare(sdl: string): Promise<PreplanOutcome> {
    const started = performance.now();
    const candidates = this.candidates();
    const result = await planInWorker({
      sdl,
      candidates: candidates.map(({ key, source, operationName }) => ({ key, source, operationName })),
      buildOptions: buildOptions(),
      modules: WORKER_MODULES,
    }, this.options.timeoutMs ?? 60_000);
    const store = this.newStore();
    for (const [key, plan] of result.plans) await store.set(key, plan);
    this.prepared = { store, sdl };
    this.stats.preplanned += result.plans.length;
    const outcome = { planned: result.plans.length, invalid: result.invalid, candidates: candidates.length, ms: Math.round(performance.now() - started) };
    this.stats.lastPreplan = outcome;
    return outcome;
  }
}

/** The packages the worker plans with, resolved here so that it loads the very copies the gateway uses. */
const WORKER_MODULES = (() => {
  const require = createRequire(import.meta.url);
  return { internals: require.resolve('@apollo/federation-internals'), planner: require.resolve('@apollo/query-planner'), graphql: require.resolve('graphql') };
})();

/**
 * The worker's program (CommonJS, evaluated): builds the supergraph and its
 * planner, plans each candidate, and posts back `[store key, plan]` pairs
 * (plans are plain data: they cross the thread boundary by structured clone).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { Supergraph, operationFromDocument } = require(workerData.modules.internals);
const { QueryPlanner } = require(workerData.modules.planner);
const { parse } = require(workerData.modules.graphql);
const supergraph = Supergraph.build(workerData.sdl);
const apiSchema = supergraph.apiSchema();
const planner = new QueryPlanner(supergraph);
const documents = new Map();
const plans = [];
let invalid = 0;
for (const { key, source, operationName } of workerData.candidates) {
  try {
    let document = documents.get(source);
    if (!document) {
      document = parse(source);
      documents.set(source, document);
    }
    const operation = operationFromDocument(apiSchema, document, { operationName, validate: true });
    plans.push([key, planner.buildQueryPlan(operation, workerData.buildOptions)]);
  } catch {
    invalid += 1;
  }
}
parentPort.postMessage({ plans, invalid });
`;

interface WorkerInput {
  sdl: string;
  candidates: { key: string; source: string; operationName: string | undefined }[];
  buildOptions: ReturnType<typeof buildOptions>;
  modules: typeof WORKER_MODULES;
}

function planInWorker(input: WorkerInput, timeoutMs: number): Promise<{ plans: [string, QueryPlan][]; invalid: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: input });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`pre-planning took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    worker.once('message', (result: { plans: [string, QueryPlan][]; invalid: number }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    worker.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pre-planning worker exited with code ${code} before answering`));
    });
  });
}

/** Each operation of a trusted document as requests name it, and the document without a name when it holds one operation. */
export function candidatesOfDocuments(documents: Iterable<string>): PlanCandidate[] {
  const candidates: PlanCandidate[] = [];
  for (const source of documents) {
    let names: (string | undefined)[];
    try {
      names = parse(source, { noLocation: true }).definitions.flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION ? [definition.name?.value] : []));
    } catch {
      continue;
    }
    for (const name of names) if (name) candidates.push({ source, operationName: name });
    if (names.length === 1) candidates.push({ source, operationName: undefined });
  }
  return candidates;
}

/** Apollo Gateway's store key: the query hash, or with an operation name the hash of both. */
export function storeKey(queryHash: string, operationName: string | undefined): string {
  return operationName ? createHash('sha256').update(queryHash).update(operationName).digest('hex') : queryHash;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The planner's safety limits, read from the environment variables Apollo Gateway reads them from. */
function buildOptions() {
  return {
    recursiveSelectionsLimitDisabled: process.env.APOLLO_DISABLE_SECURITY_RECURSIVE_SELECTIONS_CHECK === 'true',
    nonLocalSelectionsLimitDisabled: process.env.APOLLO_DISABLE_SECURITY_NON_LOCAL_SELECTIONS_CHECK === 'true',
  };
}

/** How Apollo Gateway sizes its store's entries (the UTF-8 length of their JSON). */
function approximateSize(plan: QueryPlan): number {
  return Buffer.byteLength(JSON.stringify(plan), 'utf8');
}

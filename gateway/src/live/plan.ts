import { buildOperationContext } from '@apollo/gateway';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { createHash } from 'node:crypto';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';

export type OperationContext = ReturnType<typeof buildOperationContext>;

/**
 * What a subscription runs: the fetch that opens the stream on the owning
 * subgraph, and the plan run for every event (`primary` answered by the
 * event, then `rest` through the ordinary data sources).
 */
export interface SubscriptionPlan {
  primary: FetchNode;
  rest: PlanNode | undefined;
  /** `primary` then `rest`, as a plan executeQueryPlan runs (it refuses a Subscription node). */
  eventPlan: QueryPlan;
}

/**
 * The adapter between the planner's output and executeQueryPlan: the only
 * place that knows the shape of a `SubscriptionNode`. A planner that changes
 * it fails here, loudly, with what it produced (test/live-plan.test.ts pins it).
 */
export function subscriptionPlanOf(plan: QueryPlan): SubscriptionPlan {
  const node = plan.node as { kind?: unknown; primary?: Partial<FetchNode>; rest?: PlanNode } | undefined;
  const primary = node?.primary;
  if (
    node?.kind !== 'Subscription' ||
    primary?.kind !== 'Fetch' ||
    typeof primary.serviceName !== 'string' ||
    typeof primary.operation !== 'string' ||
    primary.requires !== undefined ||
    (node.rest !== undefined && typeof node.rest?.kind !== 'string')
  ) {
    throw new Error(
      `@apollo/query-planner: expected a subscription plan { kind: "Subscription", primary: Fetch without requires, rest?: PlanNode }, got ${JSON.stringify(plan).slice(0, 300)}`,
    );
  }
  const fetch = primary as FetchNode;
  const rest = node.rest;
  return { primary: fetch, rest, eventPlan: { kind: 'QueryPlan', node: rest ? { kind: 'Sequence', nodes: [fetch, rest] } : fetch } };
}

/** One supergraph version as the live path needs it (built once per version, on the first subscription). */
export interface LiveSchema {
  /** The gateway's API schema (what clients validate against), from onSchemaLoadOrUpdate. */
  apiSchema: GraphQLSchema;
  /** The same API schema as the planner and executeQueryPlan take it. */
  plannerApiSchema: Schema;
  supergraphSchema: GraphQLSchema;
  planner: QueryPlanner;
  /** Validated subscription operations by operationKey (least recently used first), see SharedOperation. */
  operations: Map<string, SharedOperation>;
}

/**
 * What every subscription of one operation (document text and operation
 * name) on one supergraph version shares: parsed, validated and planned once,
 * so an idle subscription holds references to it and nothing of its own but
 * its variables and context. `plan` and `operationContext` are built on first
 * use (after the subscription's per-request checks pass).
 */
export interface SharedOperation {
  source: string;
  operationName: string | undefined;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  plan?: SubscriptionPlan;
  operationContext?: OperationContext;
}

/** Distinct operations kept per supergraph version; the least recently used goes first (running subscriptions keep theirs). */
export const OPERATION_CACHE_SIZE = 500;

/** The cache key of an operation: a hash, so the map holds no second copy of long documents. */
export function operationKey(source: string, operationName: string | undefined): string {
  return createHash('sha256').update(operationName ?? '').update('\0').update(source).digest('base64url');
}

/** The shared operation for this text and name, if validated before on this version (and touched as recently used). */
export function cachedOperation(schema: LiveSchema, key: string, source: string, operationName: string | undefined): SharedOperation | undefined {
  const entry = schema.operations.get(key);
  if (!entry || entry.source !== source || entry.operationName !== operationName) return undefined;
  schema.operations.delete(key);
  schema.operations.set(key, entry);
  return entry;
}

/** Keeps a newly validated operation (evicting the least recently used beyond OPERATION_CACHE_SIZE). */
export function cacheOperation(schema: LiveSchema, key: string, entry: SharedOperation): SharedOperation {
  if (schema.operations.size >= OPERATION_CACHE_SIZE) schema.operations.delete(schema.operations.keys().next().value!);
  schema.operations.set(key, entry);
  return entry;
}

/**
 * Follows the gateway's supergraph through its public `onSchemaLoadOrUpdate`
 * (the core supergraph SDL and API schema) and plans subscriptions with a
 * QueryPlanner of its own over the same SDL: Apollo Gateway keeps its planner
 * private. Built lazily, so a gateway that serves no subscription pays nothing.
 */
export class LivePlanner {
  private sdl: string | undefined;
  private servedSchema: GraphQLSchema | undefined;
  private built: LiveSchema | undefined;
  private readonly listeners = new Set<() => void>();

  update(schema: { apiSchema: GraphQLSchema; coreSupergraphSdl: string }): void {
    if (schema.coreSupergraphSdl === this.sdl) return;
    this.sdl = schema.coreSupergraphSdl;
    this.servedSchema = schema.apiSchema;
    this.built = undefined;
    for (const listener of this.listeners) listener();
  }

  /** The API schema served now (without building the planner). */
  get apiSchema(): GraphQLSchema | undefined {
    return this.servedSchema;
  }

  /** Called after each new supergraph version (running subscriptions check that their field still exists). */
  onUpdate(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The current version, or undefined before the gateway has loaded one. */
  current(): LiveSchema | undefined {
    if (!this.built && this.sdl && this.servedSchema) {
      // Validated by the gateway already, from the same SDL.
      const supergraph = Supergraph.build(this.sdl, { validateSupergraph: false });
      this.built = {
        apiSchema: this.servedSchema,
        plannerApiSchema: supergraph.apiSchema(),
        supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
        planner: new QueryPlanner(supergraph),
        operations: new Map(),
      };
    }
    return this.built;
  }

  /** Plans a validated subscription operation, once per shared operation. */
  plan(schema: LiveSchema, shared: SharedOperation): SubscriptionPlan {
    if (!shared.plan) {
      const operation = operationFromDocument(schema.plannerApiSchema, shared.document, shared.operationName ? { operationName: shared.operationName } : {});
      shared.plan = subscriptionPlanOf(schema.planner.buildQueryPlan(operation));
    }
    return shared.plan;
  }
}

export function operationContextOf(schema: LiveSchema, shared: SharedOperation): OperationContext {
  shared.operationContext ??= buildOperationContext({ schema: schema.apiSchema, operationDocument: shared.document, ...(shared.operationName ? { operationName: shared.operationName } : {}) });
  return shared.operationContext;
}

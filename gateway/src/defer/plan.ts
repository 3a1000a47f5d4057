import { Supergraph, operationFromDocument, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type PlanNode, type QueryPlan } from '@apollo/query-planner';
import { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLNonNull, GraphQLSchema, GraphQLString, type DocumentNode } from 'graphql';

/**
 * One deferred fragment as the gateway runs it: the fetches of its own
 * (`node`, none when the data came with its parent's), where its data goes
 * (`queryPath`, response names from the root, without list positions), what
 * it selects there (`subselection`, GraphQL text), and the deferred fragments
 * nested in it, which run after it.
 */
export interface DeferredPart {
  label: string | undefined;
  queryPath: string[];
  /** Undefined when the fragment selects nothing but the deferred fragments nested in it. */
  subselection: string | undefined;
  node: PlanNode | undefined;
  children: DeferredPart[];
}

/** A plan with @defer: the primary part (root selection and its fetches) and the deferred parts. */
export interface DeferPlan {
  /** `subselection` is undefined when every field of the operation is deferred (`{ ... @defer { me { id } } }`). */
  primary: { subselection: string | undefined; node: PlanNode | undefined };
  deferred: DeferredPart[];
}

type Loose = Record<string, unknown> | undefined;

function fail(what: string, got: unknown): never {
  throw new Error(`@apollo/query-planner: expected ${what}, got ${JSON.stringify(got, (key, value) => (key === 'operationDocumentNode' ? undefined : value)).slice(0, 400)}`);
}

/** A `Condition` node (`@defer(if: $v)`) decided by the request's variables; anything else as it is. */
function decide(node: PlanNode | undefined, variables: Record<string, unknown>): PlanNode | undefined {
  let current = node as Loose;
  while (current?.kind === 'Condition') {
    if (typeof current.condition !== 'string') fail('a Condition node { condition: string, ifClause?, elseClause? }', current);
    current = (variables[current.condition] ? current.ifClause : current.elseClause) as Loose;
  }
  return current as PlanNode | undefined;
}

/** Throws when a Defer node sits anywhere the adapter does not take it from (it would reach executeQueryPlan, which asserts). */
function noDeferWithin(node: PlanNode | undefined): PlanNode | undefined {
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const record = value as Record<string, unknown>;
    if (record.kind === 'Defer') fail('Defer nodes only at the top of a plan or of a deferred part', node);
    if (record.kind === 'Fetch') return;
    for (const [key, child] of Object.entries(record)) if (key !== 'kind') visit(child);
  };
  visit(node);
  return node;
}

function partsOf(list: unknown, variables: Record<string, unknown>): DeferredPart[] {
  if (!Array.isArray(list)) fail('Defer.deferred: DeferredNode[]', list);
  return list.map((entry: Loose): DeferredPart => {
    const queryPath = entry?.queryPath;
    const label = entry?.label;
    if (!Array.isArray(queryPath) || !queryPath.every((element) => typeof element === 'string') || (label !== undefined && typeof label !== 'string')) {
      fail('a DeferredNode { queryPath: string[], label?: string, subselection?: string, node?: PlanNode }', entry);
    }
    const node = decide(entry!.node as PlanNode | undefined, variables) as Loose;
    if (node?.kind === 'Defer') {
      // A deferred fragment with deferred fragments inside: its own selection and fetches are the inner Defer's primary.
      const inner = innerOf(node);
      return { label, queryPath, subselection: inner.primary.subselection, node: inner.primary.node, children: partsOf(node.deferred, variables) };
    }
    const subselection = entry!.subselection;
    if (typeof subselection !== 'string') fail('DeferredNode.subselection: string', entry);
    return { label, queryPath, subselection, node: noDeferWithin(node as PlanNode | undefined), children: [] };
  });
}

function innerOf(node: Record<string, unknown>): { primary: DeferPlan['primary'] } {
  const primary = node.primary as Loose;
  if (!primary || (primary.subselection !== undefined && typeof primary.subselection !== 'string') || (primary.node !== undefined && typeof (primary.node as Loose)?.kind !== 'string')) {
    fail('Defer.primary { subselection?: string, node?: PlanNode }', node);
  }
  return { primary: { subselection: primary.subselection as string | undefined, node: noDeferWithin(primary.node as PlanNode | undefined) } };
}

/**
 * The adapter between the planner's output and executeQueryPlan for @defer:
 * the only code that knows the shape of a `DeferNode` (and of the `Condition`
 * node `@defer(if:)` plans). Undefined for a plan without deferred parts
 * (no @defer, or `if: false`), which the gateway runs as it runs any query.
 * A planner that changes the shape fails here, loudly, with what it produced
 * (tests/defer-plan.test.ts pins it).
 */
export function deferPlanOf(plan: QueryPlan, variables: Record<string, unknown> = {}): DeferPlan | undefined {
  const node = decide(plan.node as PlanNode | undefined, variables) as Loose;
  if (node?.kind !== 'Defer') {
    noDeferWithin(node as PlanNode | undefined);
    return undefined;
  }
  const { primary } = innerOf(node);
  return { primary, deferred: partsOf(node.deferred, variables) };
}

/** `@defer` as the incremental delivery proposal (and Apollo's planner) defines it. */
export const deferDirective = new GraphQLDirective({
  name: 'defer',
  description: 'Delivers the fragment after the rest of the result (multipart/mixed incremental delivery), with its label.',
  locations: [DirectiveLocation.FRAGMENT_SPREAD, DirectiveLocation.INLINE_FRAGMENT],
  args: {
    label: { type: GraphQLString, description: 'Names the deferred payload.' },
    if: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: true, description: 'Deferred only when true.' },
  },
});

/** The API schema as clients validate against it: the gateway's, declaring @defer. */
export function withDefer(schema: GraphQLSchema): GraphQLSchema {
  if (schema.getDirective('defer')) return schema;
  const config = schema.toConfig();
  return new GraphQLSchema({ ...config, directives: [...config.directives, deferDirective] });
}

/** One supergraph version as @defer needs it: a planner of its own with incremental delivery on. */
export interface DeferSchema {
  plannerApiSchema: Schema;
  supergraphSchema: GraphQLSchema;
  planner: QueryPlanner;
  plans: Map<string, QueryPlan>;
}

const PLAN_CACHE_SIZE = 500;

/**
 * Follows the gateway's supergraph (its public onSchemaLoadOrUpdate) and plans
 * @defer operations with a QueryPlanner over the same SDL, with
 * `incrementalDelivery.enableDefer`: Apollo Gateway's own planner is private
 * and plans without it. Built on the first deferred operation of a version.
 */
export class DeferPlanner {
  private sdl: string | undefined;
  private built: DeferSchema | undefined;

  update(coreSupergraphSdl: string): void {
    if (coreSupergraphSdl === this.sdl) return;
    this.sdl = coreSupergraphSdl;
    this.built = undefined;
  }

  current(): DeferSchema | undefined {
    if (!this.built && this.sdl) {
      // Validated by the gateway already, from the same SDL.
      const supergraph = Supergraph.build(this.sdl, { validateSupergraph: false });
      this.built = {
        plannerApiSchema: supergraph.apiSchema(),
        supergraphSchema: supergraph.schema.toGraphQLJSSchema(),
        planner: new QueryPlanner(supergraph, { incrementalDelivery: { enableDefer: true } }),
        plans: new Map(),
      };
    }
    return this.built;
  }

  /** The plan of a validated operation (cached per version by its hash and name). */
  plan(schema: DeferSchema, document: DocumentNode, key: string, operationName: string | undefined): QueryPlan {
    let plan = schema.plans.get(key);
    if (!plan) {
      plan = schema.planner.buildQueryPlan(operationFromDocument(schema.plannerApiSchema, document, operationName ? { operationName } : {}));
      if (schema.plans.size >= PLAN_CACHE_SIZE) schema.plans.delete(schema.plans.keys().next().value!);
      schema.plans.set(key, plan);
    }
    return plan;
  }
}

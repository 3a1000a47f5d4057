import type { FetchNode, PlanNode, QueryPlan, SubscriptionNode } from '@apollo/query-planner';
import { getNamedType, parse, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';

/**
 * The (coordinate, subgraph) pairs a query plan fetches: each fetch's operation walked against the
 * API schema. Entity fetches start at `_entities`, which the API schema lacks; their inline
 * fragments (`... on User`) name the type again, so `User.healthSummary` is attributed to the
 * subgraph that resolved it. Fields the API schema hides (@inaccessible) are not API coordinates and are skipped.
 */
export function planCoordinates(plan: QueryPlan, schema: GraphQLSchema): [coordinate: string, subgraph: string][] {
  const pairs = new Set<string>();
  forEachFetch(plan, (node) => {
    for (const coordinate of fetchCoordinates(node.operationDocumentNode ?? parse(node.operation), schema)) pairs.add(`${coordinate}\u0001${node.serviceName}`);
  });
  return [...pairs].map((pair) => pair.split('\u0001') as [string, string]);
}

/** The subgraphs a query plan fetches from (deferred parts and both branches of a condition included). */
export function planSubgraphs(plan: QueryPlan): Set<string> {
  const subgraphs = new Set<string>();
  forEachFetch(plan, (node) => subgraphs.add(node.serviceName));
  return subgraphs;
}

/** Calls `visit` with every fetch of the plan. */
function forEachFetch(plan: QueryPlan, visit: (node: FetchNode) => void): void {
  const walk = (node: PlanNode | SubscriptionNode | undefined): void => {
    if (!node) return;
    switch (node.kind) {
      case 'Fetch':
        visit(node);
        return;
      case 'Sequence':
      case 'Parallel':
        node.nodes.forEach(walk);
        return;
      case 'Flatten':
        return walk(node.node);
      case 'Defer':
        walk(node.primary.node);
        for (const deferred of node.deferred) walk(deferred.node);
        return;
      case 'Condition':
        walk(node.ifClause);
        walk(node.elseClause);
        return;
      case 'Subscription':
        walk(node.primary);
        walk(node.rest);
        return;
    }
  };
  walk(plan.node);
}

function fetchCoordinates(document: DocumentNode, schema: GraphQLSchema): Set<string> {
  const found = new Set<string>();
  const typeInfo = new TypeInfo(schema);
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        const parent = typeInfo.getParentType();
        if (!parent || node.name.value.startsWith('__') || !typeInfo.getFieldDef()) return;
        found.add(`${getNamedType(parent).name}.${node.name.value}`);
      },
    }),
  );
  return found;
}

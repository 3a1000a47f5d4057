import type { PlanNode, QueryPlan, SubscriptionNode } from '@apollo/query-planner';
import { getNamedType, parse, TypeInfo, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema } from 'graphql';

/**
 * The (coordinate, subgraph) pairs a query plan fetches: each fetch's operation walked against the
 * API schema. Entity fetches start at `_entities`, which the API schema lacks; their inline
 * fragments (`... on User`) name the type again, so `User.healthSummary` is attributed to the
 * subgraph that resolved it. Fields the API schema hides (@inaccessible) are not API coordinates and are skipped.
 */
export function planCoordinates(plan: QueryPlan, schema: GraphQLSchema): [coordinate: string, subgraph: string][] {
  const pairs = new Set<string>();
  const walk = (node: PlanNode | SubscriptionNode | undefined): void => {
    if (!node) return;
    switch (node.kind) {
      case 'Fetch':
        for (const coordinate of fetchCoordinates(node.operationDocumentNode ?? parse(node.operation), schema)) pairs.add(`${coordinate}\u0001${node.serviceName}`);
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
  return [...pairs].map((pair) => pair.split('\u0001') as [string, string]);
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

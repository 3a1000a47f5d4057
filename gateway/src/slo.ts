import type { Experimental_DidResolveQueryPlanCallback } from '@apollo/gateway';
import type { QueryPlan } from '@apollo/query-planner';
import type { SloName } from '@suoke/platform';
import { planSubgraphs } from './usage/index.js';

/**
 * Which SLO each gateway operation counts against (suoke_slo_operations_total): `agent` when its query plan
 * fetches from the agent subgraph (a model's reply is slower by nature), `default` otherwise. The plan is
 * judged once per plan object (Apollo caches plans per document and operation, so a repeated operation
 * is a lookup), and the verdict is kept on the request's context for the metrics plugin to read.
 */
export function sloByQueryPlan(agentSubgraph = 'agent') {
  const plans = new WeakMap<QueryPlan, SloName>();
  const operations = new WeakMap<object, SloName>();
  const didResolveQueryPlan: Experimental_DidResolveQueryPlanCallback = ({ queryPlan, requestContext }) => {
    let slo = plans.get(queryPlan);
    if (!slo) plans.set(queryPlan, (slo = planSubgraphs(queryPlan).has(agentSubgraph) ? 'agent' : 'default'));
    operations.set(requestContext.context as object, slo);
  };
  return {
    didResolveQueryPlan,
    /** The SLO of the operation whose context this is; undefined when no plan was made (refused before planning: `default`). */
    sloOf: (context: object): SloName | undefined => operations.get(context),
  };
}

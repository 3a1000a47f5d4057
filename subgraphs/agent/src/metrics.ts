import { Counter } from 'prom-client';
import type { ServiceMetrics } from '@suoke/platform';
import type { CallStats, HedgeOutcome } from './service/resilience.js';

const OUTCOMES: readonly HedgeOutcome[] = ['won', 'lost', 'failed'];

/**
 * `suoke_agent_llm_hedges_total{outcome}`: second model requests sent by hedging (LLM_HEDGE_DELAY_MS), read from
 * the model call's stats at each scrape. Declared whatever the configuration, so that dashboards can query it;
 * samples only when a model provider is configured. Requests made to the provider = the model call's attempts + hedges.
 */
export function watchHedges(metrics: ServiceMetrics, call: { readonly stats: Pick<CallStats, 'hedges'> } | undefined): void {
  new Counter({
    name: 'suoke_agent_llm_hedges_total',
    help: 'Second, identical model requests sent because the first had not answered within LLM_HEDGE_DELAY_MS, by outcome: won (its answer was used, the first was aborted), lost (the first answered first; it was aborted), failed (it failed, or its attempt ended without its answer)',
    labelNames: ['outcome'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      if (call) for (const outcome of OUTCOMES) this.inc({ outcome }, call.stats.hedges[outcome]);
    },
  });
}

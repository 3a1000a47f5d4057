import { Counter } from 'prom-client';
import type { ServiceMetrics } from '@suoke/platform';
import type { CallStats, HedgeOutcome } from './service/resilience.js';
import type { ReplySource, ReplyStats } from './service/replies.js';
import { PERSONAS } from './service/personas.js';

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

const SOURCES: readonly ReplySource[] = ['model', 'cache', 'fallback'];

/**
 * `suoke_agent_replies_total{agent, source}`: agent replies by agent (the four personas' ids; replies of any
 * other id are not labelled) and source, read from the reply service's stats at each scrape. Every
 * (agent, source) pair is present from the start, so that a fallback ratio is 0, not absent, until one happens.
 */
export function watchReplies(metrics: ServiceMetrics, stats: Pick<ReplyStats, 'bySource'>): void {
  const agents = Object.keys(PERSONAS);
  new Counter({
    name: 'suoke_agent_replies_total',
    help: 'Agent replies by agent id and source: model (the configured provider answered; the offline responder when it is the one configured), cache (served from the reply cache), fallback (the offline responder stood in for a model that failed or ran out of time)',
    labelNames: ['agent', 'source'],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const agent of agents) {
        const counts = stats.bySource.get(agent);
        for (const source of SOURCES) this.inc({ agent, source }, counts?.[source] ?? 0);
      }
    },
  });
}

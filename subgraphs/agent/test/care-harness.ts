import { randomUUID } from 'node:crypto';
import type { SubgraphDefinition } from '@suoke/platform';
import { startTestSubgraph } from '@suoke/platform/testing';
import { definition, type AgentSubgraph } from '../src/server.js';
import type { CareConstitution, CareKnowledge, CareKnowledgeLookup } from '../src/service/care-plans-knowledge.js';
import type { LatestReport, ReportSource } from '../src/service/care-plans.js';
import { NO_KNOWLEDGE, NOBODY_CONSENTED } from './harness.js';

/**
 * The agent subgraph over HTTP on a fresh database with XiaoKe's dependencies
 * replaced: the consented report reader (`reports`) and the knowledge lookup.
 * Omitted: nobody has consented (personal data and reports), and the knowledge lookup goes to the gateway.
 */
export async function startCareAgent(options: { reports?: ReportSource; careKnowledge?: CareKnowledgeLookup } = {}) {
  const started = await startTestSubgraph(definition as unknown as SubgraphDefinition, {
    env: {
      GATEWAY_URL: 'http://127.0.0.1:9/graphql',
      // With REDIS_URL, rate-limit counters (and the reply cache) live in Redis, as in production.
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REPLY_CACHE_PREFIX: `suoke:test:${randomUUID()}:` } : {}),
    },
    createOptions: { knowledge: NO_KNOWLEDGE, personal: NOBODY_CONSENTED, ...options },
  });
  return { ...started, subgraph: started.subgraph as unknown as AgentSubgraph };
}

export type CareAgent = Awaited<ReturnType<typeof startCareAgent>>;

/** A ReportSource over a map the test fills: a user absent from `granted` has not consented. */
export function fakeReports() {
  const reports = new Map<string, LatestReport | null>();
  const granted = new Set<string>();
  let reads = 0;
  const source: ReportSource = {
    async latestReport(userId) {
      reads += 1;
      if (!granted.has(userId)) {
        const { consentRequired } = await import('../src/service/care-plans.js');
        throw consentRequired();
      }
      return reports.get(userId) ?? null;
    },
  };
  return { source, reports, granted, reads: () => reads };
}

function constitution(code: string, name: string, herbs: Array<[string, string, string[]]>, points: Array<[string, string]>): CareConstitution {
  return {
    code,
    name,
    advice: { diet: `${name}饮食建议。`, exercise: `${name}运动建议。`, sleep: `${name}睡眠建议。`, emotions: `${name}情志建议。` },
    recommendedHerbs: herbs.map(([id, herbName, cautions]) => ({ id, name: herbName, actions: [`${herbName}之功`], cautions })),
    recommendedFoods: [{ name: '山药' }, { name: '小米' }],
    recommendedAcupoints: points.map(([pointCode, pointName]) => ({ code: pointCode, name: pointName, selfCare: `按揉${pointName}。` })),
  };
}

/** A small knowledge base in the knowledge subgraph's shapes. */
export const CARE_KNOWLEDGE: CareKnowledge = {
  constitutions: new Map([
    ['QI_DEFICIENT', constitution('QI_DEFICIENT', '气虚质', [['huangqi', '黄芪', ['表实邪盛者忌用']], ['dangshen', '党参', []], ['baizhu', '白术', ['阴虚燥渴者慎用']], ['gancao', '甘草', ['不宜与海藻同用']]], [['ST36', '足三里'], ['CV6', '气海']])],
    ['YANG_DEFICIENT', constitution('YANG_DEFICIENT', '阳虚质', [['rougui', '肉桂', ['孕妇慎用']]], [['CV4', '关元']])],
    ['QI_STAGNATION', constitution('QI_STAGNATION', '气郁质', [['chaihu', '柴胡', []]], [['LR3', '太冲']])],
  ]),
  syndromes: new Map([['SPLEEN_QI_DEFICIENCY', { code: 'SPLEEN_QI_DEFICIENCY', name: '脾气虚证', treatmentPrinciple: '健脾益气' }]]),
};

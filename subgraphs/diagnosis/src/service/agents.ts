import { badInput } from '@suoke/platform';

/**
 * The four AI agents a consultation can be held with. The agent subgraph owns
 * `Agent`; until it serves its own list, these ids are the contract (the
 * migration's check constraint repeats them).
 */
export const AGENT_IDS = ['xiaoai', 'xiaoke', 'laoke', 'soer'] as const;
export type AgentId = (typeof AGENT_IDS)[number];

/** XiaoAI 小艾 leads consultations unless the client picks another agent. */
export const DEFAULT_AGENT: AgentId = 'xiaoai';

export function checkAgentId(agentId: string | null | undefined): AgentId {
  if (agentId === null || agentId === undefined) return DEFAULT_AGENT;
  if ((AGENT_IDS as readonly string[]).includes(agentId)) return agentId as AgentId;
  throw badInput(`agentId must be one of ${AGENT_IDS.join(', ')}; received ${JSON.stringify(agentId)}`, 'input.agentId');
}

import type { CitationRef } from '../../db/schema.js';
import type { KnowledgeSearch } from '../knowledge.js';

import type { AgentAccessScope, PersonalContext, PersonalContextSource } from '../personal-context.js';

// What the tools call, as interfaces: the real implementations are other parts of the agent subgraph (consented
// personal context, reminders, appointments), wired in server.ts; tests inject fakes.

export type { AgentAccessScope, PersonalContext, PersonalContextSource };

export const ALL_SCOPES: readonly AgentAccessScope[] = ['HEALTH_SUMMARY', 'HEALTH_PROFILE', 'REPORTS'];

export interface Reminders {
  create(
    userId: string,
    input: { text: string; startsAt: string; timeZone: string; recurrence?: 'NONE' | 'DAILY' | 'WEEKLY'; clientKey?: string },
  ): Promise<{ id: string; text: string; nextFireAt: string; recurrence: string; timeZone: string }>;
}

export interface OpenSlot {
  id: string;
  practitionerId: string;
  practitionerName: string;
  startsAt: string;
  endsAt: string;
}

export interface Appointments {
  openSlots(options: { practitionerId?: string; from?: string; first?: number }): Promise<OpenSlot[]>;
  /** Throws a GraphQLError with code CONFLICT when the slot is taken. */
  book(userId: string, input: { slotId: string; clientKey: string }): Promise<{ id: string; slotId: string; startsAt: string; practitionerName: string; status: string }>;
}

/** Personal data as it may reach a model, and the citations of what a reply used. */
export interface PersonalData {
  source: PersonalContextSource;
  /** AGENT_PROVIDER_PHI: `off` sends nothing personal to a model provider. */
  mode: 'off' | 'summary';
  summarise(ctx: PersonalContext | null, mode: 'off' | 'summary'): string | null;
  cite(ctx: PersonalContext, used: readonly AgentAccessScope[]): CitationRef[];
}

/** Everything the tools reach; an absent dependency makes its tool answer "unavailable" (never throw). */
export interface ToolDeps {
  knowledge: KnowledgeSearch;
  personal?: PersonalData | undefined;
  reminders?: Reminders | undefined;
  appointments?: Appointments | undefined;
}

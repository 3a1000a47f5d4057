import type { EventBus } from '@suoke/platform';
import { selectConsultations } from '../db/queries.js';
import type { ConsultationRow } from '../db/schema.js';
import type { Database } from '@suoke/platform';

/** The bus topic of one consultation's changes (`consultationUpdated`). */
export function consultationTopic(consultationId: string): string {
  return `diagnosis:consultation:${consultationId.toLowerCase()}`;
}

/** A consultation as it travels on the bus: the row itself in memory, its JSON over Redis (dates as strings). */
export type ConsultationEvent = Omit<ConsultationRow, 'startedAt' | 'completedAt' | 'cancelledAt'> & {
  startedAt: Date | string;
  completedAt: Date | string | null;
  cancelledAt: Date | string | null;
};

/** A consultation event back to a row. */
export function consultationFromEvent(event: ConsultationEvent): ConsultationRow {
  const date = (value: Date | string | null | undefined) => (value === null || value === undefined ? null : new Date(value));
  return { ...event, startedAt: new Date(event.startedAt), completedAt: date(event.completedAt), cancelledAt: date(event.cancelledAt) };
}

/** Announces a consultation's change to its subscribers, after the change committed. Never throws: the change is stored. */
export interface ConsultationEvents {
  publish(row: ConsultationRow): Promise<void>;
  /** Reads the consultation first (for changes made outside a consultation transaction, such as an analysis). */
  publishById(consultationId: string): Promise<void>;
}

export function consultationEvents(bus: EventBus, database: Database, log: { warn(obj: object, msg: string): void }): ConsultationEvents {
  const publish = async (row: ConsultationRow) => {
    try {
      await bus.publish(consultationTopic(row.id), row);
    } catch (error) {
      log.warn({ err: error, consultationId: row.id }, 'consultation change not announced (stored all the same)');
    }
  };
  return {
    publish,
    async publishById(consultationId) {
      const [row] = await selectConsultations(database, [consultationId]).catch(() => []);
      if (row) await publish(row);
    },
  };
}

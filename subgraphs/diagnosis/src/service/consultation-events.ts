import type { EventBus } from '@suoke/platform';
import { selectConsultations } from '../db/queries.js';
import type { ConsultationRow } from '../db/schema.js';
import type { Database } from '@suoke/platform';

/** The bus topic of one consultation's changes (`consultationUpdated`). */
export function consultationTopic(consultationId: string): string {
  return `diagnosis:consultation:${consultationId.toLowerCase()}`;
}

/** A consultation as it travels on the bus (JSON: dates as strings), back to a row. */
export function consultationFromEvent(event: ConsultationRow | Record<string, unknown>): ConsultationRow {
  const row = event as Record<string, unknown>;
  const date = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string));
  return { ...(row as unknown as ConsultationRow), startedAt: date(row.startedAt)!, completedAt: date(row.completedAt), cancelledAt: date(row.cancelledAt) };
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

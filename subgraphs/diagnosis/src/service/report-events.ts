import type { ReportRow } from '../db/schema.js';

/** The bus topic of one report's status changes (`reportUpdated`). */
export function reportTopic(reportId: string): string {
  return `diagnosis:report:${reportId.toLowerCase()}`;
}

/** A report as it travels on the bus (JSON: dates as strings), back to a row. */
export function reportFromEvent(event: ReportRow | (Omit<ReportRow, 'createdAt'> & { createdAt: string })): ReportRow {
  return { ...event, createdAt: new Date(event.createdAt) };
}

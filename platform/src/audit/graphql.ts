import type { Connection } from '../pagination.js';
import type { AuditContext } from './collector.js';
import { selectAuditEvents, type AuditEventRow, type AuditPageArgs } from './store.js';

/**
 * The admin audit query of a PHI subgraph (`<name>AuditEvents`): one page, and
 * the read itself audited (resource `AuditEvent`, the ids of the events shown).
 */
export async function auditEventsPage(ctx: AuditContext, schema: string, args: AuditPageArgs): Promise<Connection<AuditEventRow>> {
  const page = await selectAuditEvents(ctx.database, schema, args);
  ctx.audit.record({ action: 'READ', resource: 'AuditEvent', ids: page.edges.map((edge) => edge.node.id) });
  return page;
}

import { sql } from 'drizzle-orm';
import { ident, type Database } from '../db.js';
import { badInput } from '../errors.js';
import { decodeCursor, isUuid, pageSize, toConnection, type Connection, type PageArgs } from '../pagination.js';
import { arrayParam, isoUtc } from '../sql.js';
import type { AuditAction, AuditCollector, AuditOutcome } from './collector.js';

/**
 * Writes the collector's events into `<schema>.audit_events`: one INSERT for
 * the whole request, with each event's ids as one text[] parameter, so the
 * statement count does not grow with list lengths. Nothing to write → no SQL.
 */
export async function writeAuditEvents(database: Database, schema: string, audit: AuditCollector): Promise<number> {
  const events = audit.events();
  if (events.length === 0) return 0;
  const rows = events.map(
    (e) =>
      sql`(${audit.actor}, ${audit.subject}, ${e.action}, ${e.resource}, ${arrayParam(e.ids, 'text')}, ${e.outcome}, ${e.reason}, ${audit.traceId ?? null}, ${audit.requestId})`,
  );
  await database.rows(sql`
    insert into ${ident(schema)}.audit_events (actor, subject, action, resource, record_ids, outcome, reason, trace_id, request_id)
    values ${sql.join(rows, sql`, `)}`);
  return events.length;
}

/** An audit event as the admin query returns it. */
export interface AuditEventRow {
  id: string;
  at: string;
  actor: string;
  /** For a delegated read: the user whose data it was (the actor acted for them). */
  subject: string | null;
  action: AuditAction;
  resource: string;
  recordIds: string[];
  outcome: AuditOutcome;
  reason: string | null;
  traceId: string | null;
  requestId: string | null;
}

export interface AuditPageArgs extends PageArgs {
  actorId?: string | null;
}

/**
 * A page of `<schema>.audit_events`, newest first, keyset-paginated on
 * (at, id) with the exact (microsecond) time in the cursor; one statement.
 */
export async function selectAuditEvents(database: Database, schema: string, args: AuditPageArgs): Promise<Connection<AuditEventRow>> {
  const first = pageSize(args.first);
  const after = decodeAuditCursor(args.after);
  const actor = args.actorId ?? null;
  const rows = await database.rows<Omit<AuditEventRow, 'recordIds'> & { recordIds: string }>(sql`
    select id::text as id, ${isoUtc(sql`at`)} as at, actor, subject, action, resource, to_json(record_ids)::text as "recordIds",
           outcome, reason, trace_id as "traceId", request_id as "requestId"
    from ${ident(schema)}.audit_events
    where (${actor}::text is null or actor = ${actor}::text)
      and (${after?.at ?? null}::timestamptz is null or (at, id) < (${after?.at ?? null}::timestamptz, ${after?.id ?? null}::uuid))
    order by at desc, id desc
    limit ${first + 1}`);
  const events = rows.map((row) => ({ ...row, recordIds: JSON.parse(row.recordIds) as string[] }));
  return toConnection(events, first, (row) => [row.at, row.id]);
}

function decodeAuditCursor(after: string | null | undefined): { at: string; id: string } | undefined {
  const parts = decodeCursor(after, 2);
  if (!parts) return undefined;
  const [at, id] = parts;
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at)) || !isUuid(id)) {
    throw badInput('after is not a cursor returned by this connection', 'after');
  }
  return { at, id };
}

import { context as otelContext, isSpanContextValid, trace } from '@opentelemetry/api';
import type { AuthUser } from '../auth/index.js';
import type { Database } from '../db.js';

export type AuditAction = 'READ' | 'WRITE';
export type AuditOutcome = 'ALLOWED' | 'DENIED';

/** One access to be audited: what kind, which resource (a type name such as `Observation`), which record ids. */
export interface AuditRecord {
  action: AuditAction;
  resource: string;
  ids: readonly string[];
}

/** A refused access: the resource, the ids asked for when known, and why (an error code such as `FORBIDDEN`). */
export interface AuditDenial {
  resource: string;
  reason: string;
  ids?: readonly string[];
  action?: AuditAction;
}

/** One row to write: the accesses of one request, grouped by (action, resource, outcome, reason). */
export interface PendingAuditEvent {
  action: AuditAction;
  resource: string;
  outcome: AuditOutcome;
  reason: string | null;
  ids: string[];
}

export const ANONYMOUS_ACTOR = 'anonymous';

/**
 * Collects what one request read, wrote and was refused, in memory; the audit
 * plugin writes it once, after execution, as one statement. Resolvers call
 * `record` with the ids they return (never values), so batching stays intact:
 * a hundred entity references give one event with a hundred ids.
 */
export class AuditCollector {
  readonly #events = new Map<string, PendingAuditEvent & { seen: Set<string> }>();
  /** Who acted: the token's subject (a user id, or `service:<name>`), a delegated token's actor, or `anonymous`. */
  readonly actor: string;
  /** Whose data a delegated token read (its subject, the user); null for every other caller, who acts for itself. */
  readonly subject: string | null;

  constructor(
    user: AuthUser | undefined,
    readonly requestId: string,
    readonly traceId: string | undefined,
  ) {
    this.actor = user?.actor ?? user?.id ?? ANONYMOUS_ACTOR;
    this.subject = user?.actor !== undefined ? user.id : null;
  }

  /**
   * An allowed access to the records `ids`. An empty list (a lookup that
   * matched nothing, an empty page) discloses no record and is not written.
   */
  record(entry: AuditRecord): void {
    if (entry.ids.length === 0) return;
    this.#add(entry.action, entry.resource, 'ALLOWED', null, entry.ids);
  }

  deny(denial: AuditDenial): void {
    this.#add(denial.action ?? 'READ', denial.resource, 'DENIED', denial.reason, denial.ids ?? []);
  }

  /** The grouped events, in the order first recorded. */
  events(): PendingAuditEvent[] {
    return [...this.#events.values()].map(({ seen: _seen, ...event }) => event);
  }

  get size(): number {
    return this.#events.size;
  }

  #add(action: AuditAction, resource: string, outcome: AuditOutcome, reason: string | null, ids: readonly string[]): void {
    const key = `${action}\u0000${resource}\u0000${outcome}\u0000${reason ?? ''}`;
    let event = this.#events.get(key);
    if (!event) {
      event = { action, resource, outcome, reason, ids: [], seen: new Set() };
      this.#events.set(key, event);
    }
    for (const id of ids) {
      if (event.seen.has(id)) continue;
      event.seen.add(id);
      event.ids.push(id);
    }
  }
}

const TRACEPARENT = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/**
 * The trace id of the current request: the active span's (the HTTP server span
 * is active while the context is built, sampled or not), else the one the
 * gateway sent in `traceparent` when this process does not trace.
 */
export function currentTraceId(traceparent: string | string[] | undefined): string | undefined {
  const spanContext = trace.getSpan(otelContext.active())?.spanContext();
  if (spanContext && isSpanContextValid(spanContext)) return spanContext.traceId;
  const header = typeof traceparent === 'string' ? traceparent.trim().toLowerCase() : undefined;
  const traceId = header ? TRACEPARENT.exec(header)?.[1] : undefined;
  return traceId && !/^0+$/.test(traceId) ? traceId : undefined;
}

/** What the audit plugin and the admin query read from a subgraph's request context. */
export interface AuditContext {
  audit: AuditCollector;
  database: Database;
}

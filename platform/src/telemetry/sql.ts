import { context, SpanKind, trace } from '@opentelemetry/api';
import { seams } from '../seams/index.js';
import { failed } from './subgraph.js';
import { platformTracer, sampledContext } from './tracing.js';

/**
 * SQL spans. Neither postgres.js nor PGlite is instrumented by OpenTelemetry,
 * and drizzle's own tracing is compiled out (and would record parameter
 * values), so platform observes the one place both drivers go through:
 * drizzle's `PgPreparedQuery.queryWithCache(sql, params, run)`, which sends one
 * statement (seams.drizzleQueryWithCache). Only databases that opt in (their drizzle logger carries a
 * QUERY_OBSERVER, see db.ts) are observed; the patch is installed once.
 */
export const QUERY_OBSERVER = Symbol.for('suoke.db.queryObserver');

export type QueryObserver = (statement: string, run: () => Promise<unknown>) => Promise<unknown>;

let installed = false;
export function observeDrizzleQueries(): void {
  if (installed) return;
  const seam = seams.drizzleQueryWithCache;
  const changed = seam.check();
  if (changed) throw new Error(`drizzle-orm changed (seams.drizzleQueryWithCache): ${changed}; update platform/src/telemetry/sql.ts`);
  const prototype = seam.target();
  const original = prototype.queryWithCache!;
  installed = true;
  prototype.queryWithCache = function observedQueryWithCache(statement, params, run) {
    const observer = this.logger?.[QUERY_OBSERVER] as QueryObserver | undefined;
    if (!observer) return original.call(this, statement, params, run);
    return observer(statement, () => original.call(this, statement, params, run));
  };
}

/**
 * Runs one statement in a span (on sampled requests only): `db.system` and
 * `db.statement` — the statement text as drizzle sends it, with `$1…` placeholders.
 * Parameter values are never recorded, nor error messages (which quote them).
 */
export function tracedStatement<T>(statement: string, run: () => Promise<T>): Promise<T> {
  const parent = sampledContext();
  if (!parent) return run();
  const operation = operationOf(statement);
  const span = platformTracer.startSpan(
    operation,
    { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql', 'db.operation': operation, 'db.statement': statement } },
    parent,
  );
  return context.with(trace.setSpan(parent, span), run).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      failed(span, error);
      span.end();
      throw error;
    },
  );
}

/** SELECT, INSERT, UPDATE, DELETE (a WITH statement is named after what it modifies), or the first keyword. */
export function operationOf(statement: string): string {
  const first = /^\s*([a-z]+)/i.exec(statement)?.[1]?.toUpperCase() ?? 'SQL';
  if (first !== 'WITH') return first;
  return /\b(insert|update|delete)\b/i.exec(statement)?.[1]?.toUpperCase() ?? 'SELECT';
}

import { context, createContextKey } from '@opentelemetry/api';

/**
 * Per-request state that follows async work (DataLoader batches run on a later
 * tick) without threading it through every call: the request id for log lines.
 * (SQL statements are counted per process, `sqlStats`: tests read deltas of it.)
 *
 * It rides in the OpenTelemetry context, and so exists only with tracing on.
 * With tracing off there is deliberately no async context at all: on Node 20
 * an enabled AsyncLocalStorage installs promise hooks that slow every promise
 * in the process, and for `{ me { id displayName } }` through the gateway that
 * was ~23 % of the gateway's CPU and ~26 % of the user subgraph's (bench/RESULTS.md,
 * Tuning). Without tracing, request-path code that logs passes the request id
 * itself (the error-masking plugin, the audit writer, the rate limiter).
 */
export interface RequestScope {
  requestId: string;
}

const SCOPE_KEY = createContextKey('suoke.request-scope');
let inTraceContext = false;

/** Called by startTracing once its context manager is registered (before any request). */
export function keepRequestScopeInTraceContext(): void {
  inTraceContext = true;
}

/** Process-wide totals; tests read deltas of these around an operation. */
export const sqlStats = { statements: 0 };

/** Runs `fn` with `scope` as the current request's (tracing on); just runs it otherwise. */
export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return inTraceContext ? context.with(context.active().setValue(SCOPE_KEY, scope), fn) : fn();
}

export function currentRequestScope(): RequestScope | undefined {
  return inTraceContext ? (context.active().getValue(SCOPE_KEY) as RequestScope | undefined) : undefined;
}

/** Called by the database layer once per SQL statement sent. */
export function countSqlStatement(): void {
  sqlStats.statements += 1;
}

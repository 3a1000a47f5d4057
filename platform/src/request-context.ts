import { AsyncLocalStorage } from 'node:async_hooks';
import { context, createContextKey } from '@opentelemetry/api';

/**
 * Per-request state that must follow async work (DataLoader batches run on a
 * later tick) without threading it through every call: the request id for logs
 * and the SQL statement counter behind the no-N+1 rule.
 */
export interface RequestScope {
  requestId: string;
  sqlStatements: number;
}

const storage = new AsyncLocalStorage<RequestScope>();
const SCOPE_KEY = createContextKey('suoke.request-scope');
/**
 * With tracing on, the scope rides in the OpenTelemetry context instead, so one
 * AsyncLocalStorage carries both: on Node 20 every enabled AsyncLocalStorage
 * costs on every promise created (≈ 60 ns per await measured), which made
 * tracing cost even unsampled requests about a tenth of their CPU.
 */
let inTraceContext = false;

/** Called by startTracing once its context manager is registered (before any request). */
export function keepRequestScopeInTraceContext(): void {
  inTraceContext = true;
}

/** Process-wide totals; tests read deltas of these around an operation. */
export const sqlStats = { statements: 0 };

export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return inTraceContext ? context.with(context.active().setValue(SCOPE_KEY, scope), fn) : storage.run(scope, fn);
}

export function currentRequestScope(): RequestScope | undefined {
  return inTraceContext ? (context.active().getValue(SCOPE_KEY) as RequestScope | undefined) : storage.getStore();
}

/** Called by the database layer once per SQL statement sent. */
export function countSqlStatement(): void {
  sqlStats.statements += 1;
  const scope = currentRequestScope();
  if (scope) scope.sqlStatements += 1;
}

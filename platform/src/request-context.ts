import { AsyncLocalStorage } from 'node:async_hooks';

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

/** Process-wide totals; tests read deltas of these around an operation. */
export const sqlStats = { statements: 0 };

export function runInRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

/** Called by the database layer once per SQL statement sent. */
export function countSqlStatement(): void {
  sqlStats.statements += 1;
  const scope = storage.getStore();
  if (scope) scope.sqlStatements += 1;
}

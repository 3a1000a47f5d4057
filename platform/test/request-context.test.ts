import { describe, expect, it } from 'vitest';
import { countSqlStatement, currentRequestScope, runInRequestScope, sqlStats } from '../src/request-context.js';

describe('request scope and SQL statement counting', () => {
  it('counts into the process total and into the scope of the running request only', async () => {
    const a = { requestId: 'a', sqlStatements: 0 };
    const b = { requestId: 'b', sqlStatements: 0 };
    const before = sqlStats.statements;
    await Promise.all([
      runInRequestScope(a, async () => {
        countSqlStatement();
        await new Promise((resolve) => setTimeout(resolve, 5));
        // Still request a after an await (DataLoader batches run on a later tick).
        expect(currentRequestScope()?.requestId).toBe('a');
        countSqlStatement();
      }),
      runInRequestScope(b, async () => {
        await Promise.resolve();
        countSqlStatement();
      }),
    ]);
    countSqlStatement(); // outside any request
    expect(a.sqlStatements).toBe(2);
    expect(b.sqlStatements).toBe(1);
    expect(sqlStats.statements - before).toBe(4);
    expect(currentRequestScope()).toBeUndefined();
  });
});

describe('request scope inside the trace context (tracing on)', () => {
  it('keeps one scope per request across awaits, with one AsyncLocalStorage for both', async () => {
    const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
    const { context } = await import('@opentelemetry/api');
    const { keepRequestScopeInTraceContext } = await import('../src/request-context.js');
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    keepRequestScopeInTraceContext();
    const a = { requestId: 'a', sqlStatements: 0 };
    await runInRequestScope(a, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      countSqlStatement();
      expect(currentRequestScope()).toBe(a);
    });
    expect(a.sqlStatements).toBe(1);
    expect(currentRequestScope()).toBeUndefined();
  });
});

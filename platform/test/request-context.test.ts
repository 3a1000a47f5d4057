import { describe, expect, it } from 'vitest';
import { countSqlStatement, currentRequestScope, runInRequestScope, sqlStats } from '../src/request-context.js';

describe('request scope with tracing off', () => {
  it('keeps no async context (AsyncLocalStorage would slow every promise on Node 20): the process total counts, no scope is kept', async () => {
    const a = { requestId: 'a' };
    const before = sqlStats.statements;
    const result = await runInRequestScope(a, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      countSqlStatement();
      return currentRequestScope();
    });
    expect(result).toBeUndefined();
    expect(sqlStats.statements - before).toBe(1);
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
    const a = { requestId: 'a' };
    const b = { requestId: 'b' };
    const before = sqlStats.statements;
    await Promise.all([
      runInRequestScope(a, async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        countSqlStatement();
        // Still request a after an await (DataLoader batches run on a later tick).
        expect(currentRequestScope()).toBe(a);
        countSqlStatement();
      }),
      runInRequestScope(b, async () => {
        await Promise.resolve();
        countSqlStatement();
        expect(currentRequestScope()).toBe(b);
      }),
    ]);
    expect(sqlStats.statements - before).toBe(3);
    expect(currentRequestScope()).toBeUndefined();
  });
});

import { context, trace } from '@opentelemetry/api';
import { failed } from './resolvers.js';
import { platformTracer, sampledContext } from './tracing.js';

type BatchFn = (this: unknown, keys: readonly unknown[]) => PromiseLike<unknown> | unknown;

/**
 * Instruments the DataLoaders of one request (the object `createLoaders`
 * returns, one loader per property), however each was built: every batch is
 * reported to `observe` (the batch-size histogram) and, on a sampled request,
 * runs in a `dataloader.batch <name>` span, so the SQL statement a batch sends
 * has the batch as its parent. A batch is dispatched in the async context of
 * the first `load` that joined it, so the span's parent is that resolver.
 *
 * DataLoader keeps the batch function in `_batchLoadFn` and reads it at each
 * dispatch; wrapping that property leaves the loader's caching and scheduling
 * untouched. Objects without one are left alone (tests/tracing.test.ts fails if
 * a DataLoader release renames it).
 */
export function instrumentLoaders<T>(loaders: T, options: { observe?: (name: string, size: number) => void; spans: boolean }): T {
  if (!loaders || typeof loaders !== 'object') return loaders;
  for (const [name, loader] of Object.entries(loaders as Record<string, unknown>)) {
    const target = loader as { _batchLoadFn?: BatchFn } | null;
    if (!target || typeof target !== 'object' || typeof target._batchLoadFn !== 'function') continue;
    target._batchLoadFn = instrumentedBatch(name, target._batchLoadFn, options);
  }
  return loaders;
}

function instrumentedBatch(name: string, batch: BatchFn, options: { observe?: (name: string, size: number) => void; spans: boolean }): BatchFn {
  const spanName = `dataloader.batch ${name}`;
  return function instrumentedBatchLoad(this: unknown, keys) {
    options.observe?.(name, keys.length);
    const parent = options.spans ? sampledContext() : undefined;
    if (!parent) return batch.call(this, keys);
    const span = platformTracer.startSpan(spanName, { attributes: { 'dataloader.name': name, 'dataloader.batch_size': keys.length } }, parent);
    let result: PromiseLike<unknown> | unknown;
    try {
      result = context.with(trace.setSpan(parent, span), () => batch.call(this, keys));
    } catch (error) {
      failed(span, error);
      span.end();
      throw error;
    }
    return Promise.resolve(result).then(
      (values) => {
        span.end();
        return values;
      },
      (error: unknown) => {
        failed(span, error);
        span.end();
        throw error;
      },
    );
  };
}

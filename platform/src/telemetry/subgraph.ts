// A subgraph's spans: its resolvers' and its DataLoader batches' (SQL spans: sql.ts).
import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import DataLoader from 'dataloader';
import { GraphQLError, isObjectType, type GraphQLFieldResolver, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import { platformTracer, sampledContext } from './tracing.js';

/**
 * The fields worth a span: those a subgraph gives a resolver function (its
 * resolver map), never default property reads, plus `Query._entities`, the one
 * field through which every entity fetch from the gateway arrives (a span per
 * fetch, not one per representation).
 */
export function explicitResolverCoordinates(resolvers: object): Set<string> {
  const coordinates = new Set<string>(['Query._entities']);
  for (const [typeName, fields] of Object.entries(resolvers)) {
    if (!fields || typeof fields !== 'object') continue;
    for (const [fieldName, value] of Object.entries(fields as Record<string, unknown>)) {
      if (fieldName.startsWith('__')) continue;
      const explicit =
        typeof value === 'function' ||
        (value !== null && typeof value === 'object' && typeof (value as { resolve?: unknown }).resolve === 'function');
      if (explicit) coordinates.add(`${typeName}.${fieldName}`);
    }
  }
  return coordinates;
}

/**
 * Wraps the resolvers of `coordinates` (Type.field) in `schema` with a span
 * named after the field, child of the active span (the execute span, or the
 * span of the field being resolved). The check comes first: on an unsampled
 * request, or without a tracer provider, the wrapper only calls through.
 * Errors set the span's status to their `extensions.code`; their messages,
 * which may quote the input, are not recorded. Returns the number wrapped.
 */
export function traceResolvers(schema: GraphQLSchema, coordinates: Iterable<string>): number {
  let wrapped = 0;
  for (const coordinate of coordinates) {
    const [typeName, fieldName] = coordinate.split('.');
    const type = typeName ? schema.getType(typeName) : undefined;
    if (!fieldName || !isObjectType(type)) continue;
    const field = type.getFields()[fieldName];
    if (!field?.resolve) continue;
    field.resolve = tracedResolver(coordinate, field.resolve);
    wrapped += 1;
  }
  return wrapped;
}

function tracedResolver(coordinate: string, resolve: GraphQLFieldResolver<unknown, unknown>): GraphQLFieldResolver<unknown, unknown> {
  return function tracedResolve(source, args, contextValue, info) {
    const parent = sampledContext();
    if (!parent) return resolve(source, args, contextValue, info);
    const span = platformTracer.startSpan(
      coordinate,
      { attributes: { 'graphql.field.coordinate': coordinate, 'graphql.field.path': pathOf(info) } },
      parent,
    );
    let result: unknown;
    try {
      result = context.with(trace.setSpan(parent, span), resolve, undefined, source, args, contextValue, info);
    } catch (error) {
      failed(span, error);
      span.end();
      throw error;
    }
    if (isPromiseLike(result)) {
      return result.then(
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
    span.end();
    return result;
  };
}

/** Marks a span failed with the error's stable code only (messages may quote input values). */
export function failed(span: Span, error: unknown): void {
  const code = error instanceof GraphQLError && typeof error.extensions.code === 'string' ? error.extensions.code : 'INTERNAL_SERVER_ERROR';
  span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  span.setAttribute('error.type', code);
}

function pathOf(info: GraphQLResolveInfo): string {
  const parts: (string | number)[] = [];
  for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) parts.push(p.key);
  return parts.reverse().join('.');
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}

type BatchFn<K, V> = DataLoader.BatchLoadFn<K, V>;
type Instrumentable = { wrapBatch(wrap: <K, V>(batch: BatchFn<K, V>) => BatchFn<K, V>): void };

/**
 * A DataLoader whose batch function instrumentLoaders can wrap, through
 * DataLoader's public constructor: the loader is given a stable trampoline
 * that calls whichever batch function is current. platform's keyedLoader and
 * positionalLoader build these; other DataLoaders are left alone.
 */
export class InstrumentableLoader<K, V, C = K> extends DataLoader<K, V, C> {
  private readonly batch: { load: DataLoader.BatchLoadFn<K, V> };

  constructor(batch: DataLoader.BatchLoadFn<K, V>, options?: DataLoader.Options<K, V, C>) {
    const slot = { load: batch };
    super((keys) => slot.load(keys), options);
    this.batch = slot;
  }

  /** Replaces the batch function with `wrap(current)`; caching and scheduling are untouched. */
  wrapBatch(wrap: <BK, BV>(batch: BatchFn<BK, BV>) => BatchFn<BK, BV>): void {
    this.batch.load = wrap(this.batch.load);
  }
}

/**
 * Instruments the DataLoaders of one request (the object `createLoaders`
 * returns, one loader per property) built as InstrumentableLoader: every batch
 * is reported to `observe` (the batch-size histogram) and, on a sampled
 * request, runs in a `dataloader.batch <name>` span, so the SQL statement a
 * batch sends has the batch as its parent. A batch is dispatched in the async
 * context of the first `load` that joined it, so the span's parent is that
 * resolver.
 */
export function instrumentLoaders<T>(loaders: T, options: { observe?: (name: string, size: number) => void; spans: boolean }): T {
  if (!loaders || typeof loaders !== 'object') return loaders;
  for (const [name, loader] of Object.entries(loaders as Record<string, unknown>)) {
    // By shape, not instanceof: a second copy of platform (sources and dist in one test process) makes its own class.
    if (isInstrumentable(loader)) loader.wrapBatch((batch) => instrumentedBatch(name, batch, options));
  }
  return loaders;
}

function isInstrumentable(loader: unknown): loader is Instrumentable {
  return loader !== null && typeof loader === 'object' && typeof (loader as Partial<Instrumentable>).wrapBatch === 'function';
}

function instrumentedBatch<K, V>(name: string, batch: BatchFn<K, V>, options: { observe?: (name: string, size: number) => void; spans: boolean }): BatchFn<K, V> {
  const spanName = `dataloader.batch ${name}`;
  return function instrumentedBatchLoad(keys) {
    options.observe?.(name, keys.length);
    const parent = options.spans ? sampledContext() : undefined;
    if (!parent) return batch(keys);
    const span = platformTracer.startSpan(spanName, { attributes: { 'dataloader.name': name, 'dataloader.batch_size': keys.length } }, parent);
    let result: ReturnType<BatchFn<K, V>>;
    try {
      result = context.with(trace.setSpan(parent, span), () => batch(keys));
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

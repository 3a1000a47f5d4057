import { context, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
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

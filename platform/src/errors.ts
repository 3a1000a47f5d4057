import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';

/** The stable codes a client may branch on. Anything else is reported as INTERNAL_SERVER_ERROR. */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  /** The user has not granted an agent access to the data asked for (issue 20). */
  CONSENT_REQUIRED: 'CONSENT_REQUIRED',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes produced by Apollo Server itself for malformed requests; safe to pass through. */
const PASSTHROUGH_CODES = new Set<string>([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'RATE_LIMITED',
  // The gateway's answer for a field whose subgraph is down, slow or behind an open breaker (its message is generic).
  'SERVICE_UNAVAILABLE',
  // Subscriptions (live/): a subscriber fell behind its buffer; a process at its cap of open streams;
  // a subscription sent to the gateway over plain POST.
  'SUBSCRIPTION_OVERFLOW',
  'TOO_MANY_SUBSCRIPTIONS',
  'SUBSCRIPTION_TRANSPORT_REQUIRED',
  // Delegated access (auth/delegation.ts): the user granted the agents nothing (or no longer).
  'CONSENT_REQUIRED',
]);

/**
 * Extension keys (besides `code`) that carry client-facing detail. `reason` is a stable sub-code an app can branch
 * on, e.g. `BLURRY` or `TOO_MANY_PIXELS` for a refused photo (issue 21), or `MEDIA_ANALYSING` for a CONFLICT.
 */
const PUBLIC_EXTENSION_KEYS = ['field', 'reason', 'retryAfter', 'http'] as const;

function make(code: ErrorCode, message: string, extra?: Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

/** The input broke a documented contract; `field` is the input path, e.g. `input[3].value`. */
export const badInput = (message: string, field?: string) =>
  make(ErrorCode.BAD_USER_INPUT, message, field === undefined ? undefined : { field });
export const unauthenticated = (message = 'Authentication is required for this field') =>
  make(ErrorCode.UNAUTHENTICATED, message);
export const forbidden = (message = 'You are not allowed to access this data') => make(ErrorCode.FORBIDDEN, message);
export const notFound = (message: string, reason?: string) => make(ErrorCode.NOT_FOUND, message, reason === undefined ? undefined : { reason });
export const conflict = (message: string, reason?: string) => make(ErrorCode.CONFLICT, message, reason === undefined ? undefined : { reason });
/** Input whose content was refused for a stable `reason` (e.g. a file's type or quality), with the input field. */
export const refusedInput = (message: string, reason: string, field?: string) =>
  make(ErrorCode.BAD_USER_INPUT, message, { reason, ...(field === undefined ? {} : { field }) });

export function isPublicCode(code: unknown): code is string {
  return typeof code === 'string' && PASSTHROUGH_CODES.has(code);
}

/** Whether an error with this code reaches the client as a generic INTERNAL_SERVER_ERROR. */
function masked(code: unknown): boolean {
  return !isPublicCode(code) || code === ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * Errors that reach the client masked (a driver error, a bug) are logged in
 * full, so nothing is lost but nothing leaks; stacks never leave the process.
 *
 * - `plugin` logs those of a GraphQL request with its `request_id`, taken from
 *   the request's context (with tracing off there is no async context to find
 *   it in: see request-context.ts).
 * - `formatError` (Apollo Server's) keeps known codes and their message and
 *   masks everything else; it logs what the plugin did not see (errors outside
 *   the request pipeline).
 */
export function createErrorMasking(log: Logger) {
  const logged = new WeakSet<object>();
  const logMasked = (error: unknown, path: GraphQLFormattedError['path'], requestId?: string, client?: { name: string; version: string }) => {
    const who = client ? { client_name: client.name, client_version: client.version } : {};
    log.error({ err: error, path, ...(requestId ? { request_id: requestId } : {}), ...who }, 'internal error masked');
  };
  // `client`: the gateway's client awareness (which app and version hit the error); subgraphs have none.
  const plugin: ApolloServerPlugin<{ requestId?: string; client?: { name: string; version: string } }> = {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            if (!masked(error.extensions?.code)) continue;
            const original = error.originalError ?? error;
            logged.add(original);
            logMasked(original, error.path, contextValue.requestId, contextValue.client);
          }
        },
      };
    },
  };
  const formatError = (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (!masked(code)) return withPublicExtensions(formatted, code as string);
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (!(typeof original === 'object' && original !== null && logged.has(original))) logMasked(original, formatted.path);
    return {
      message: 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
  return { formatError, plugin };
}

function withPublicExtensions(formatted: GraphQLFormattedError, code: string): GraphQLFormattedError {
  const extensions: Record<string, unknown> = { code };
  for (const key of PUBLIC_EXTENSION_KEYS) {
    if (key !== 'http' && formatted.extensions?.[key] !== undefined) extensions[key] = formatted.extensions[key];
  }
  return {
    message: formatted.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions,
  };
}

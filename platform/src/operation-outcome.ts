/**
 * How an answered GraphQL operation counts against the availability SLO
 * (`suoke_slo_operations_total{outcome}`): `ok` (no error), `client_error` (only
 * errors the client caused: it must change the request, sign in, or wait) or
 * `server_error` (at least one error that is ours: it burns the error budget).
 */
export type OperationOutcome = 'ok' | 'client_error' | 'server_error';

/**
 * Codes that mean the client is at fault. Any other code, and an error without
 * one, is ours: INTERNAL_SERVER_ERROR and SERVICE_UNAVAILABLE (a subgraph down,
 * slow, refused or behind an open breaker) by name, and codes nobody listed
 * here because an unknown code reaches the client masked as an internal error.
 */
const CLIENT_CODES: ReadonlySet<string> = new Set([
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'CONSENT_REQUIRED',
  'RATE_LIMITED',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_TOO_LARGE',
  'OPERATION_NOT_TRUSTED',
  'OPERATION_RESOLUTION_FAILURE',
  'SUBSCRIPTION_TRANSPORT_REQUIRED',
  'SUBSCRIPTION_OVERFLOW',
  'SUBSCRIPTION_LIMIT',
  'TOO_MANY_SUBSCRIPTIONS',
]);

/** What the classification reads of an error: its `extensions` (code, and Apollo's `http.status` on request errors). */
export interface ClassifiedError {
  readonly extensions?: { readonly code?: unknown; readonly http?: unknown } | undefined;
}

function httpStatusOf(error: ClassifiedError): number | undefined {
  const status = (error.extensions?.http as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Whether one error is the client's fault (see CLIENT_CODES). A code-less error is a client's only when Apollo answered it with a 4xx. */
export function isClientError(error: ClassifiedError): boolean {
  const code = error.extensions?.code;
  if (typeof code === 'string') return CLIENT_CODES.has(code);
  const status = httpStatusOf(error);
  return status !== undefined && status >= 400 && status < 500;
}

/**
 * The outcome of one operation from the errors it carried and the HTTP status
 * of its response (undefined: 200). A 5xx response is a server error whatever
 * its errors say; one server error among client errors makes the whole
 * operation a server error.
 */
export function operationOutcome(errors: readonly ClassifiedError[] | undefined, httpStatus?: number): OperationOutcome {
  if (httpStatus !== undefined && httpStatus >= 500) return 'server_error';
  if (!errors || errors.length === 0) return 'ok';
  return errors.every(isClientError) ? 'client_error' : 'server_error';
}

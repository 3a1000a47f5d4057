import { describe, expect, it } from 'vitest';
import { isClientError, operationOutcome } from '../src/operation-outcome.js';

const error = (code?: string, status?: number) => ({ extensions: { ...(code ? { code } : {}), ...(status ? { http: { status } } : {}) } });

describe('operationOutcome: how an answered operation counts against the availability SLO', () => {
  it('no error is ok', () => {
    expect(operationOutcome(undefined)).toBe('ok');
    expect(operationOutcome([], 200)).toBe('ok');
  });

  it.each(['BAD_USER_INPUT', 'UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', 'GRAPHQL_VALIDATION_FAILED', 'PERSISTED_QUERY_NOT_FOUND', 'OPERATION_NOT_TRUSTED', 'NOT_FOUND'])(
    '%s alone is the client’s fault',
    (code) => expect(operationOutcome([error(code)])).toBe('client_error'),
  );

  it.each(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE', 'SOMETHING_NOBODY_LISTED'])('%s is ours', (code) => {
    expect(operationOutcome([error(code)])).toBe('server_error');
  });

  it('an error without a code is ours, unless Apollo answered it with a 4xx', () => {
    expect(operationOutcome([error()])).toBe('server_error');
    expect(isClientError(error(undefined, 400))).toBe(true);
    expect(operationOutcome([error(undefined, 400)], 400)).toBe('client_error');
  });

  it('one server error among client errors makes the operation a server error', () => {
    expect(operationOutcome([error('BAD_USER_INPUT'), error('SERVICE_UNAVAILABLE')])).toBe('server_error');
  });

  it('an HTTP 5xx response is a server error whatever its errors say', () => {
    expect(operationOutcome([error('BAD_USER_INPUT')], 503)).toBe('server_error');
    expect(operationOutcome(undefined, 500)).toBe('server_error');
  });
});

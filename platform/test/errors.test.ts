import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Logger } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { badInput, conflict, createErrorMasking, forbidden, isPublicCode, notFound, unauthenticated } from '../src/errors.js';

function formatterWithLog() {
  const error = vi.fn();
  const masking = createErrorMasking({ error } as unknown as Logger);
  return { format: masking.formatError, plugin: masking.plugin, logged: error };
}

const where = { locations: [{ line: 1, column: 3 }], path: ['users', 0, 'email'] };

describe('error constructors', () => {
  it('carry their stable code, and badInput the field', () => {
    expect(badInput('bad', 'input.email').extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'input.email' });
    expect(badInput('bad').extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(unauthenticated().extensions.code).toBe('UNAUTHENTICATED');
    expect(forbidden().extensions.code).toBe('FORBIDDEN');
    expect(notFound('x').extensions.code).toBe('NOT_FOUND');
    expect(conflict('x').extensions.code).toBe('CONFLICT');
  });

  it('isPublicCode knows the stable codes only', () => {
    expect(isPublicCode('BAD_USER_INPUT')).toBe(true);
    expect(isPublicCode('GRAPHQL_VALIDATION_FAILED')).toBe(true);
    expect(isPublicCode('ECONNREFUSED')).toBe(false);
    expect(isPublicCode(undefined)).toBe(false);
  });
});

describe('createErrorMasking', () => {
  it('keeps the message, location, path, code and field of a BAD_USER_INPUT error', () => {
    const { format, logged } = formatterWithLog();
    const error = badInput('first must be an integer from 1 to 100; received 0', 'first');
    const formatted: GraphQLFormattedError = {
      message: error.message,
      ...where,
      extensions: { code: 'BAD_USER_INPUT', field: 'first', stacktrace: ['GraphQLError: first must…', '    at pageSize (pagination.ts:16)'] },
    };
    expect(format(formatted, error)).toEqual({
      message: 'first must be an integer from 1 to 100; received 0',
      ...where,
      extensions: { code: 'BAD_USER_INPUT', field: 'first' },
    });
    expect(logged).not.toHaveBeenCalled();
  });

  it('masks a plain Error: generic message, INTERNAL_SERVER_ERROR, no stack or other extensions, original logged', () => {
    const { format, logged } = formatterWithLog();
    const original = new Error('connect ECONNREFUSED 10.0.0.5:5432 (password authentication failed for "suoke")');
    const wrapped = new GraphQLError(original.message, { originalError: original, path: where.path });
    const formatted: GraphQLFormattedError = {
      message: original.message,
      ...where,
      extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: (original.stack ?? '').split('\n'), sql: 'select * from "user".users' },
    };
    const out = format(formatted, wrapped);
    expect(out).toEqual({ message: 'Internal server error', ...where, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(out)).not.toMatch(/ECONNREFUSED|stacktrace|select/);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0]![0]).toMatchObject({ err: original, path: where.path });
  });

  it('masks an error whose code is not a public one', () => {
    const { format } = formatterWithLog();
    const error = new GraphQLError('upstream http://10.1.2.3:8080/internal failed', { extensions: { code: 'ECONNRESET' } });
    expect(format({ message: error.message, extensions: { code: 'ECONNRESET', url: 'http://10.1.2.3:8080' } }, error)).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('masks an error without any code', () => {
    const { format } = formatterWithLog();
    expect(format({ message: 'TypeError: x is undefined' }, new TypeError('x is undefined'))).toEqual({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('strips extensions that are not public from a public error (http included)', () => {
    const { format } = formatterWithLog();
    const error = forbidden();
    const out = format(
      { message: error.message, extensions: { code: 'FORBIDDEN', http: { status: 403 }, userId: 'u-1', query: 'select 1', retryAfter: 3 } },
      error,
    );
    expect(out).toEqual({ message: error.message, extensions: { code: 'FORBIDDEN', retryAfter: 3 } });
  });

  it('passes through Apollo request errors such as GRAPHQL_VALIDATION_FAILED', () => {
    const { format } = formatterWithLog();
    const message = 'Cannot query field "nope" on type "Query".';
    expect(format({ message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }, new GraphQLError(message))).toEqual({
      message,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
  });

  it('logs a masked error of a request once, with the request id, from the plugin (no async context needed)', async () => {
    const { format, plugin, logged } = formatterWithLog();
    const original = new Error('relation "user".users does not exist');
    const wrapped = new GraphQLError(original.message, { originalError: original, path: where.path });
    const listener = await plugin.requestDidStart!({} as never);
    await listener!.didEncounterErrors!({ errors: [wrapped, forbidden()], contextValue: { requestId: 'req-42' } } as never);
    expect(logged).toHaveBeenCalledTimes(1);
    expect(logged.mock.calls[0]![0]).toMatchObject({ err: original, path: where.path, request_id: 'req-42' });
    // Apollo formats after the plugins have seen the errors: masked, not logged twice.
    expect(format({ message: original.message, ...where, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, wrapped)).toMatchObject({
      message: 'Internal server error',
    });
    expect(logged).toHaveBeenCalledTimes(1);
  });
});

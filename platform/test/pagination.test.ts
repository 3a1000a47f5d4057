import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageSize, toConnection } from '../src/pagination.js';

function thrown(fn: () => unknown): GraphQLError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GraphQLError);
    return error as GraphQLError;
  }
  throw new Error('expected a GraphQLError, nothing was thrown');
}

describe('pageSize', () => {
  it('defaults when first is absent', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(null)).toBe(20);
    expect(pageSize(null, { defaultFirst: 5, maxFirst: 10 })).toBe(5);
  });

  it('accepts the bounds themselves', () => {
    expect(pageSize(1)).toBe(1);
    expect(pageSize(100)).toBe(100);
    expect(pageSize(10, { defaultFirst: 5, maxFirst: 10 })).toBe(10);
  });

  it.each([0, -1, 101, 2.5, Number.NaN])('rejects first=%s with BAD_USER_INPUT naming the argument and the value', (first) => {
    const error = thrown(() => pageSize(first));
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe('first');
    expect(error.message).toContain(String(first));
  });

  it('uses the connection limits, not the defaults', () => {
    expect(thrown(() => pageSize(11, { defaultFirst: 5, maxFirst: 10 })).message).toContain('1 to 10');
  });
});

describe('cursors', () => {
  it('round-trip their key', () => {
    const key = ['2026-11-26T08:30:00.123Z', '6d1f2c4e-0000-4000-8000-000000000001'];
    const cursor = encodeCursor(key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, 2)).toEqual(key);
    expect(decodeCursor(encodeCursor([42, 'x']), 2)).toEqual([42, 'x']);
  });

  it('treat an absent cursor as the start', () => {
    expect(decodeCursor(undefined, 2)).toBeUndefined();
    expect(decodeCursor(null, 2)).toBeUndefined();
  });

  it.each([
    ['garbage', 'not base64 JSON at all!'],
    ['JSON that is not an array', Buffer.from('{"a":1}').toString('base64url')],
    ['wrong arity', encodeCursor(['only-one'])],
    ['non-scalar parts', Buffer.from('[{"x":1},"y"]').toString('base64url')],
  ])('reject %s with BAD_USER_INPUT naming the argument', (_label, cursor) => {
    const error = thrown(() => decodeCursor(cursor, 2));
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
    expect(error.extensions.field).toBe('after');
  });

  it('name a custom argument in the error', () => {
    expect(thrown(() => decodeCursor('###', 1, 'before')).extensions.field).toBe('before');
  });
});

describe('toConnection', () => {
  const rows = [1, 2, 3, 4].map((n) => ({ id: `id${n}`, n }));
  const cursorOf = (row: { id: string; n: number }) => [row.n, row.id] as const;

  it('reports a next page when the extra row was fetched, and the last cursor of the page', () => {
    const connection = toConnection(rows, 3, cursorOf);
    expect(connection.edges.map((e) => e.node.id)).toEqual(['id1', 'id2', 'id3']);
    expect(connection.pageInfo.hasNextPage).toBe(true);
    expect(connection.pageInfo.endCursor).toBe(connection.edges[2]!.cursor);
    expect(decodeCursor(connection.pageInfo.endCursor, 2)).toEqual([3, 'id3']);
  });

  it('reports no next page when fewer rows than first+1 came back', () => {
    const connection = toConnection(rows, 4, cursorOf);
    expect(connection.edges).toHaveLength(4);
    expect(connection.pageInfo.hasNextPage).toBe(false);
    expect(decodeCursor(connection.pageInfo.endCursor, 2)).toEqual([4, 'id4']);
  });

  it('has a null endCursor for an empty page', () => {
    expect(toConnection([], 10, cursorOf)).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });
});

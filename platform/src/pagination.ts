import { badInput } from './errors.js';

/** Arguments of every Relay-style connection field. */
export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

export interface Connection<T> {
  edges: Edge<T>[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export interface PageLimits {
  defaultFirst: number;
  maxFirst: number;
}

export const DEFAULT_PAGE: PageLimits = { defaultFirst: 20, maxFirst: 100 };

/** Validates `first` against the connection's bounds; the error names the argument and the value received. */
export function pageSize(first: number | null | undefined, limits: PageLimits = DEFAULT_PAGE): number {
  if (first === null || first === undefined) return limits.defaultFirst;
  if (!Number.isInteger(first) || first < 1 || first > limits.maxFirst) {
    throw badInput(`first must be an integer from 1 to ${limits.maxFirst}; received ${first}`, 'first');
  }
  return first;
}

/** Cursors are opaque to clients: base64url of a JSON array of the sort key. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/**
 * Decodes a cursor made by `encodeCursor` whose key has `arity` parts; anything
 * else is BAD_USER_INPUT naming the argument, never a database error.
 */
export function decodeCursor(cursor: string | null | undefined, arity: number, argName = 'after'): (string | number)[] | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === arity &&
      parsed.every((part) => typeof part === 'string' || (typeof part === 'number' && Number.isFinite(part)))
    ) {
      return parsed as (string | number)[];
    }
  } catch {
    // fall through to the error below
  }
  throw badInput(`${argName} is not a cursor returned by this connection`, argName);
}

/**
 * Turns rows fetched with LIMIT first + 1 into a connection: the extra row only
 * tells that another page exists.
 */
export function toConnection<T>(rows: readonly T[], first: number, cursorOf: (row: T) => readonly (string | number)[]): Connection<T> {
  const page = rows.slice(0, first);
  const edges = page.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Lower-case canonical UUID check, for ids arriving from clients and representations. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * Decodes a `[timestamp, uuid]` keyset cursor, checking both parts so that a
 * forged cursor is BAD_USER_INPUT rather than a database error.
 */
export function decodeTimeIdCursor(cursor: string | null | undefined, argName = 'after'): { at: Date; id: string } | undefined {
  const parts = decodeCursor(cursor, 2, argName);
  if (!parts) return undefined;
  const [at, id] = parts;
  const date = typeof at === 'string' ? new Date(at) : undefined;
  if (!date || Number.isNaN(date.getTime()) || !isUuid(id)) throw badInput(`${argName} is not a cursor returned by this connection`, argName);
  return { at: date, id };
}

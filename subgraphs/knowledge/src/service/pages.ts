import { badInput, decodeCursor, pageSize, toConnection, type Database } from '@suoke/platform';
import type { Meridian, Nature } from '../content/types.js';
import * as q from '../db/queries.js';
import type { PageRows } from '../db/schema.js';

/**
 * The root connections: arguments checked (`first` 1–100, cursors from this
 * connection only), one statement per page, keyset cursors. Items listed in
 * content order carry (position, key) cursors; articles (publishedAt, id).
 */

interface PageArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
}

function positionCursor(after: string | null | undefined): { position: number; key: string } | null {
  const parts = decodeCursor(after, 2);
  if (!parts) return null;
  const [position, key] = parts;
  if (typeof position !== 'number' || !Number.isInteger(position) || position < 0 || typeof key !== 'string' || key.length > 64) {
    throw badInput('after is not a cursor returned by this connection', 'after');
  }
  return { position, key };
}

function connection<R>(page: PageRows<R>, first: number, cursorOf: (row: R) => (string | number)[]) {
  return { ...toConnection(page.rows, first, cursorOf), totalCount: page.totalCount };
}

export async function herbPage(database: Database, args: PageArgs & { nature?: Nature | null | undefined }) {
  const first = pageSize(args.first);
  const page = await q.selectHerbPage(database, { limit: first + 1, after: positionCursor(args.after), filter: { nature: args.nature ?? null } });
  return connection(page, first, (row) => [row.position, row.id]);
}

export async function acupointPage(database: Database, args: PageArgs & { meridian?: Meridian | null | undefined }) {
  const first = pageSize(args.first);
  const page = await q.selectAcupointPage(database, { limit: first + 1, after: positionCursor(args.after), filter: { meridian: args.meridian ?? null } });
  return connection(page, first, (row) => [row.position, row.code]);
}

export async function syndromePage(database: Database, args: PageArgs) {
  const first = pageSize(args.first);
  const page = await q.selectSyndromePage(database, { limit: first + 1, after: positionCursor(args.after), filter: {} });
  return connection(page, first, (row) => [row.position, row.code]);
}

export async function articlePage(database: Database, args: PageArgs & { tag?: string | null | undefined }) {
  const first = pageSize(args.first);
  const tag = args.tag ?? null;
  if (tag !== null && (tag.trim() === '' || tag.length > 50)) {
    throw badInput(`tag must be 1–50 characters; received ${JSON.stringify(tag.slice(0, 60))}`, 'tag');
  }
  let after: q.ArticlePage['after'] = null;
  const parts = decodeCursor(args.after, 2);
  if (parts) {
    const [publishedAt, id] = parts;
    if (typeof publishedAt !== 'string' || Number.isNaN(Date.parse(publishedAt)) || typeof id !== 'string' || id.length > 64) {
      throw badInput('after is not a cursor returned by this connection', 'after');
    }
    after = { publishedAt, id };
  }
  const page = await q.selectArticlePage(database, { limit: first + 1, after, tag });
  return connection(page, first, (row) => [row.publishedAt, row.id]);
}

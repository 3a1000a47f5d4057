import { PgPreparedQuery } from 'drizzle-orm/pg-core/session';
import { describe, expect, it } from 'vitest';
import { checkSeams, libraryVersion, seams, type Seam } from '../../src/seams/index.js';

describe('seams into library internals', () => {
  it('every internal platform relies on is still there and shaped as expected', () => {
    expect(checkSeams(seams)).toEqual([]);
  });

  it('a changed internal fails with the seam, the library and its version named', () => {
    const prototype = PgPreparedQuery.prototype as { queryWithCache?: unknown };
    const original = prototype.queryWithCache;
    // Simulates a drizzle release that renames the method.
    delete prototype.queryWithCache;
    try {
      const failures = checkSeams(seams);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toBe(
        `seam drizzleQueryWithCache (drizzle-orm@${libraryVersion('drizzle-orm')}): PgPreparedQuery.prototype.queryWithCache is gone; ` +
          `it relies on ${seams.drizzleQueryWithCache.relies}`,
      );
      expect(libraryVersion('drizzle-orm')).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      prototype.queryWithCache = original;
    }
    expect(checkSeams(seams)).toEqual([]);
  });

  it('a check that throws counts as a change', () => {
    const broken: Seam = {
      library: 'node',
      relies: 'nothing',
      check() {
        throw new Error('internal moved');
      },
    };
    expect(checkSeams({ broken })).toEqual([`seam broken (node@${process.version}): check threw: internal moved; it relies on nothing`]);
  });
});

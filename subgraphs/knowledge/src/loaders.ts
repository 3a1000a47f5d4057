import type DataLoader from 'dataloader';
import { keyedLoader, type Database } from '@suoke/platform';
import * as q from './db/queries.js';
import type { AcupointRow, ArticleRow, ConstitutionRow, FoodRow, HerbRow, SyndromeRow } from './db/schema.js';

/**
 * How keys arriving from clients and entity representations are made
 * canonical. Codes are upper case, slugs lower case; a key that cannot be
 * canonical (wrong characters, too long, not a string) matches nothing and
 * never reaches SQL.
 */
export const KEYS = {
  code: { normalise: (key: string) => key.toUpperCase(), valid: /^[A-Z][A-Z0-9_]{0,63}$/ },
  slug: { normalise: (key: string) => key.toLowerCase(), valid: /^[a-z0-9][a-z0-9-]{0,63}$/ },
} as const;
type KeyRule = (typeof KEYS)[keyof typeof KEYS];

export function canonicalKey(rule: KeyRule, key: unknown): string | undefined {
  if (typeof key !== 'string') return undefined;
  const canonical = rule.normalise(key);
  return rule.valid.test(canonical) ? canonical : undefined;
}

/**
 * Per-request loaders: every entity reference and every per-parent list goes
 * through one of these, and each batch is one SQL statement whatever the
 * number of keys.
 */
export function createLoaders(database: Database) {
  return {
    constitution: entityLoader<ConstitutionRow>(KEYS.code, (keys) => q.selectConstitutions(database, keys), (row) => row.code),
    herb: entityLoader<HerbRow>(KEYS.slug, (keys) => q.selectHerbs(database, keys), (row) => row.id),
    acupoint: entityLoader<AcupointRow>(KEYS.code, (keys) => q.selectAcupoints(database, keys), (row) => row.code),
    syndrome: entityLoader<SyndromeRow>(KEYS.code, (keys) => q.selectSyndromes(database, keys), (row) => row.code),
    article: entityLoader<ArticleRow>(KEYS.slug, (keys) => q.selectArticles(database, keys), (row) => row.id),
    herbsOfConstitution: listLoader<HerbRow>(KEYS.code, (keys) => q.selectHerbsOfConstitutions(database, keys)),
    foodsOfConstitution: listLoader<FoodRow>(KEYS.code, (keys) => q.selectFoodsOfConstitutions(database, keys)),
    acupointsOfConstitution: listLoader<AcupointRow>(KEYS.code, (keys) => q.selectAcupointsOfConstitutions(database, keys)),
    syndromesOfConstitution: listLoader<SyndromeRow>(KEYS.code, (keys) => q.selectSyndromesOfConstitutions(database, keys)),
    constitutionsOfSyndrome: listLoader<ConstitutionRow>(KEYS.code, (keys) => q.selectConstitutionsOfSyndromes(database, keys)),
    constitutionsOfArticle: listLoader<ConstitutionRow>(KEYS.slug, (keys) => q.selectConstitutionsOfArticles(database, keys)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

/** Sends only the canonical, valid keys of a batch; none at all when no key is valid. */
function validKeys(rule: KeyRule, keys: readonly string[]): string[] {
  return [...new Set(keys.map((key) => canonicalKey(rule, key)).filter((key): key is string => key !== undefined))];
}

function entityLoader<R>(rule: KeyRule, select: (keys: string[]) => Promise<R[]>, keyOf: (row: R) => string): DataLoader<string, R | null, string> {
  return keyedLoader<string, R | null, R>(
    async (keys) => {
      const valid = validKeys(rule, keys);
      return valid.length === 0 ? [] : select(valid);
    },
    keyOf,
    { missing: null, cacheKey: (key) => canonicalKey(rule, key) ?? `\u0000invalid:${String(key)}` },
  );
}

function listLoader<R>(rule: KeyRule, select: (keys: string[]) => Promise<q.Linked<R>[]>): DataLoader<string, R[], string> {
  return keyedLoader<string, R[], q.Linked<R>>(
    async (keys) => {
      const valid = validKeys(rule, keys);
      return valid.length === 0 ? [] : select(valid);
    },
    (row) => row.parentKey,
    { missing: [], collect: 'many', cacheKey: (key) => canonicalKey(rule, key) ?? `\u0000invalid:${String(key)}` },
  );
}

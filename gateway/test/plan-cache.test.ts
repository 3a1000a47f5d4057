import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@suoke/platform';
import { describe, expect, it } from 'vitest';
import { candidatesOfDocuments, PreplannedPlanCache, storeKey } from '../src/plan-cache.js';
import { acknowledgeSubgraphEnforcedFeatures } from '../src/supergraph.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const supergraph = acknowledgeSubgraphEnforcedFeatures(readFileSync(path.join(root, 'schema', 'supergraph.graphql'), 'utf8'));
const log = createLogger({ service: 'gateway', level: 'silent', format: 'json', nodeEnv: 'test' });
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('PreplannedPlanCache', () => {
  const HOME = 'query Home { me { id displayName } constitutions { code name } }';
  const TWO = 'query A { me { id } } query B { constitutions { code } }';
  const GONE = 'query Gone { me { noSuchField } }';

  it('names each operation of a trusted document as requests do, and the document alone when it holds one', () => {
    expect(candidatesOfDocuments([HOME, TWO, 'not graphql {'])).toEqual([
      { source: HOME, operationName: 'Home' },
      { source: HOME, operationName: undefined },
      { source: TWO, operationName: 'A' },
      { source: TWO, operationName: 'B' },
    ]);
  });

  it('plans the trusted documents against the new supergraph, under the keys Apollo Gateway reads, and adopts them only at the swap they were made for', async () => {
    const cache = new PreplannedPlanCache({ log, top: 100, trusted: () => candidatesOfDocuments([HOME, TWO, GONE]) });
    const outcome = await cache.prepare(supergraph);
    // Home named and unnamed, A, B; Gone (named and unnamed) is not valid against the supergraph.
    expect(outcome).toMatchObject({ planned: 4, invalid: 2, candidates: 6 });
    const homeKey = storeKey(sha256(HOME), 'Home');
    expect(await cache.get(homeKey)).toBeUndefined();

    // Armed for another text: the swap clears, as Apollo's own store does.
    cache.adoptOnNextSwap(`${supergraph}\n# another`);
    cache.clear();
    expect(await cache.get(homeKey)).toBeUndefined();
    expect(cache.stats.adoptedSwaps).toBe(0);

    await cache.prepare(supergraph);
    cache.adoptOnNextSwap(supergraph);
    cache.clear();
    expect(cache.stats.adoptedSwaps).toBe(1);
    expect((await cache.get(homeKey))?.kind).toBe('QueryPlan');
    expect((await cache.get(sha256(HOME)))?.kind).toBe('QueryPlan');
    expect((await cache.get(storeKey(sha256(TWO), 'B')))?.kind).toBe('QueryPlan');
    // A later swap nobody prepared starts empty.
    cache.clear();
    expect(await cache.get(homeKey)).toBeUndefined();
  });

  it('rejects when the new supergraph cannot be built (the swap goes ahead without it)', async () => {
    const cache = new PreplannedPlanCache({ log, top: 100, trusted: () => candidatesOfDocuments([HOME]) });
    await expect(cache.prepare('schema { this is not a supergraph')).rejects.toThrow();
  });
});

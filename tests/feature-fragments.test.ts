import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, print, type DefinitionNode, type DocumentNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkedSpecUrls, withFeatureFragments } from '@suoke/platform';
import { linkedFragmentFiles, readSupergraphConfig, withLinkedDefinitions } from '../scripts/supergraph-config.mjs';
import { startQuietAgent } from '../subgraphs/agent/test/harness.js';
import { startDiagnosis } from '../subgraphs/diagnosis/test/harness.js';
import { startHealth } from '../subgraphs/health/test/harness.js';
import { startKnowledge } from '../subgraphs/knowledge/test/harness.js';
import { startUserSubgraph } from '../subgraphs/user/test/harness.js';
import { repoRoot } from './harness.js';

/**
 * Feature SDL fragments (platform/fragments.json) are written once and appended
 * to each linking subgraph's SDL by three readers: the compose script, codegen
 * and the subgraph runtime. Each must carry the fragment's definitions unchanged.
 */
const AUDIT = 'https://specs.suoke.life/audit/v1.0';
const RATE_LIMIT = 'https://specs.suoke.life/rateLimit/v1.0';
const registry = JSON.parse(readFileSync(path.join(repoRoot, 'platform', 'fragments.json'), 'utf8')) as Record<string, string>;
const fragmentDoc = (url: string) => parse(readFileSync(path.join(repoRoot, 'platform', registry[url]!), 'utf8'));
const subgraphs = readSupergraphConfig().subgraphs;
const sdlOf = (name: string) => readFileSync(subgraphs.find((s) => s.name === name)!.schemaFile, 'utf8');
const linksOf = (name: string) => linkedSpecUrls(parse(sdlOf(name))).filter((url) => url in registry);

const keyOf = (def: DefinitionNode) => `${def.kind} ${'name' in def && def.name ? def.name.value : '?'}`;

/** Each fragment definition as printed, next to the same definition in `doc` (undefined when missing, a list when repeated). */
function compare(doc: DocumentNode, url: string) {
  const found = new Map<string, string[]>();
  for (const def of doc.definitions) found.set(keyOf(def), [...(found.get(keyOf(def)) ?? []), print(def)]);
  return fragmentDoc(url).definitions.map((def) => ({ def: keyOf(def), expected: [print(def)], actual: found.get(keyOf(def)) }));
}

function expectCarries(doc: DocumentNode, url: string) {
  for (const { def, expected, actual } of compare(doc, url)) expect(actual, def).toEqual(expected);
}

describe('feature SDL fragments', () => {
  it('are linked by the subgraphs that use them: audit by the PHI subgraphs, rate limits by all', () => {
    expect(Object.keys(registry).sort()).toEqual([AUDIT, RATE_LIMIT].sort());
    expect(Object.fromEntries(subgraphs.map((s) => [s.name, linksOf(s.name).sort()]))).toEqual({
      user: [RATE_LIMIT],
      health: [AUDIT, RATE_LIMIT].sort(),
      knowledge: [RATE_LIMIT],
      agent: [AUDIT, RATE_LIMIT].sort(),
      diagnosis: [AUDIT, RATE_LIMIT].sort(),
    });
  });

  it('describe every definition, field, argument and enum value (as subgraph SDL must)', () => {
    const missing: string[] = [];
    for (const url of Object.keys(registry)) {
      for (const def of fragmentDoc(url).definitions) {
        if (!('description' in def) || !def.description?.value.trim()) missing.push(keyOf(def));
        const members = 'fields' in def ? def.fields : 'values' in def ? def.values : 'arguments' in def ? def.arguments : undefined;
        for (const member of members ?? []) if (!member.description?.value.trim()) missing.push(`${keyOf(def)}.${member.name.value}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('are in the SDL compose builds for each linking subgraph, unchanged and once, and nowhere else', () => {
    for (const { name } of subgraphs) {
      const composed = parse(withLinkedDefinitions(sdlOf(name)));
      for (const url of Object.keys(registry)) {
        if (linksOf(name).includes(url)) expectCarries(composed, url);
        else for (const { def, actual } of compare(composed, url)) expect(actual, `${name}: ${def}`).toBeUndefined();
      }
    }
  });

  it('are the files codegen adds to each subgraph schema', () => {
    for (const { name } of subgraphs) {
      expect(linkedFragmentFiles(sdlOf(name)).sort(), name).toEqual(linksOf(name).map((url) => path.join(repoRoot, 'platform', registry[url]!)).sort());
    }
  });

  it('are appended once at run time, also when the SDL was passed through already', () => {
    const once = withFeatureFragments(sdlOf('health'));
    expect(withFeatureFragments(once).definitions).toHaveLength(once.definitions.length);
    expectCarries(once, AUDIT);
    expectCarries(once, RATE_LIMIT);
  });

  describe('in the SDL each subgraph serves (`_service { sdl }`)', () => {
    const served = new Map<string, DocumentNode>();
    const closers: Array<() => Promise<void>> = [];
    beforeAll(async () => {
      const started = {
        user: await startUserSubgraph(),
        health: await startHealth(),
        knowledge: await startKnowledge(),
        agent: await startQuietAgent(),
        diagnosis: await startDiagnosis(),
      };
      for (const [name, subgraph] of Object.entries(started)) {
        closers.push(() => subgraph.close());
        const response = await subgraph.gql<{ _service: { sdl: string } }>('{ _service { sdl } }');
        expect(response.errors, name).toBeUndefined();
        served.set(name, parse(response.data!._service.sdl));
      }
    });
    afterAll(async () => {
      await Promise.all(closers.map((close) => close()));
    });

    it.each(subgraphs.map((s) => s.name))('%s', (name) => {
      const doc = served.get(name)!;
      for (const url of Object.keys(registry)) {
        if (linksOf(name).includes(url)) expectCarries(doc, url);
        else for (const { def, actual } of compare(doc, url)) expect(actual, def).toBeUndefined();
      }
      expect(doc.definitions.some((d) => d.kind === Kind.SCHEMA_EXTENSION || d.kind === Kind.SCHEMA_DEFINITION)).toBe(true);
    });
  });
});

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compose, readSupergraphConfig } from '../scripts/supergraph-config.mjs';
import { repoRoot } from './harness.js';

describe('schema/supergraph.graphql', () => {
  it('is exactly what `npm run compose` produces from supergraph.yaml', () => {
    const result = compose(readSupergraphConfig().subgraphs);
    expect(result.errors).toBeUndefined();
    const committed = readFileSync(path.join(repoRoot, 'schema', 'supergraph.graphql'), 'utf8');
    expect(committed === result.supergraphSdl, 'run `npm run compose` and commit schema/supergraph.graphql').toBe(true);
  });

  it('a composition error names the subgraph, the file and the line', () => {
    const { subgraphs } = readSupergraphConfig();
    const broken = `extend schema @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key"])
type User @key(fields: "id") { id: ID! displayName: Int }`;
    const result = compose(subgraphs, { health: broken });
    expect(result.supergraphSdl).toBeUndefined();
    const text = result.errors!.join('\n');
    expect(text).toMatch(/displayName/);
    expect(text).toMatch(/subgraphs\/(user|health)\/src\/schema\.graphql:\d+/);
  });

  it('every type, field, argument and enum value in every subgraph has a description', async () => {
    const { parse, visit } = await import('graphql');
    const missing: string[] = [];
    for (const subgraph of readSupergraphConfig().subgraphs) {
      const doc = parse(readFileSync(subgraph.schemaFile, 'utf8'));
      let typeName = '';
      visit(doc, {
        enter(node: any) {
          if ('name' in node && node.name && /Definition$/.test(node.kind) && node.kind !== 'DirectiveDefinition') {
            if (/TypeDefinition$/.test(node.kind)) typeName = node.name.value;
            const rootType = ['Query', 'Mutation', 'Subscription'].includes(node.name.value) && node.kind === 'ObjectTypeDefinition';
            if (!node.description?.value?.trim() && !rootType) missing.push(`${subgraph.name}: ${node.kind} ${typeName}.${node.name.value}`);
          }
        },
      });
    }
    expect(missing).toEqual([]);
  });
});

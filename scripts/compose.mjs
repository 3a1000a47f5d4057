#!/usr/bin/env node
// npm run compose — writes schema/supergraph.graphql from supergraph.yaml.
// `--check` compares instead of writing and exits 1 when the committed file drifted.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compose, readSupergraphConfig, repoRoot } from './supergraph-config.mjs';

const check = process.argv.includes('--check');
const out = path.join(repoRoot, 'schema', 'supergraph.graphql');
const { subgraphs } = readSupergraphConfig();
const result = compose(subgraphs);
if (result.errors) {
  console.error(`Composition failed (${result.errors.length} error${result.errors.length === 1 ? '' : 's'}):`);
  for (const error of result.errors) console.error(`  - ${error}`);
  process.exit(1);
}
for (const hint of result.hints) console.error(`hint: ${hint}`);
if (check) {
  const committed = existsSync(out) ? readFileSync(out, 'utf8') : '';
  if (committed !== result.supergraphSdl) {
    console.error('schema/supergraph.graphql differs from what `npm run compose` produces: run it and commit the result.');
    process.exit(1);
  }
  console.log('schema/supergraph.graphql is up to date');
} else {
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, result.supergraphSdl);
  console.log(`composed ${subgraphs.map((s) => s.name).join(', ')} → ${path.relative(repoRoot, out)}`);
}

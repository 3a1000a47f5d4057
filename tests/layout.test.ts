// The layout rules of docs/architecture.md, checked over the tree: a feature
// folder is imported only through its index.ts, and no source file grows past
// 300 lines (generated code, seeded content and tests aside).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../scripts/supergraph-config.mjs';

/** Folders under platform/src/ whose index.ts is their only public face (telemetry also boot.ts, which loads before graphql). */
const FEATURES: Record<string, string[]> = {
  'rate-limit': ['index'],
  audit: ['index'],
  auth: ['index'],
  resilience: ['index'],
  telemetry: ['index', 'boot', 'start'],
  subgraph: ['index'],
  seams: ['index'],
  graphql: ['index'],
};
const SOURCE = /\.(ts|mts|mjs|cjs|js)$/;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'generated', '.git', '.data', 'results']);

function files(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) out.push(...files(rel));
    } else if (SOURCE.test(entry.name)) out.push(rel);
  }
  return out;
}

const tree = ['platform', 'gateway', 'subgraphs', 'tests', 'scripts', 'bench', 'clients'].flatMap((dir) => files(dir));

describe('layout', () => {
  it('a feature folder is imported from outside only through its index.ts', () => {
    const problems: string[] = [];
    for (const file of tree) {
      const text = readFileSync(path.join(repoRoot, file), 'utf8');
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = path.normalize(path.join(path.dirname(file), match[1]!));
        const feature = /^platform\/src\/([^/]+)\/([^/]+)\.(?:js|ts)$/.exec(target);
        if (!feature || !(feature[1]! in FEATURES)) continue;
        const inside = file.startsWith(`platform/src/${feature[1]}/`);
        if (!inside && !FEATURES[feature[1]!]!.includes(feature[2]!)) problems.push(`${file} imports ${target}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('no source file is over 300 lines, outside generated code, seeded content and tests', () => {
    const exempt = (file: string) => /(^|\/)(test|tests)\//.test(file) || /\.test\.[a-z]+$/.test(file) || /^subgraphs\/[^/]+\/src\/content\//.test(file);
    const long = tree
      .filter((file) => !exempt(file) && statSync(path.join(repoRoot, file)).size > 0)
      .map((file) => ({ file, lines: readFileSync(path.join(repoRoot, file), 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > 300)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });
});

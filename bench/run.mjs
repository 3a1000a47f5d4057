#!/usr/bin/env node
// npm run bench -- <scenario> [--quick]
// Each scenario starts what it needs, measures in interleaved repeated runs,
// and records medians in bench/RESULTS.md. --quick: one short run, a smoke test
// of the harness (CI), never a source of figures.
import { scenarios } from './scenarios/index.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const names = args.filter((a) => !a.startsWith('--'));
const chosen = names.length === 0 || names.includes('all') ? Object.keys(scenarios) : names;
const unknown = chosen.filter((name) => !scenarios[name]);
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const name of chosen) {
  try {
    await scenarios[name]({ quick, command: `npm run bench -- ${name}${quick ? ' --quick' : ''}` });
  } catch (error) {
    failed = true;
    console.error(`[bench] ${name} failed: ${error.stack ?? error}`);
  }
}
process.exit(failed ? 1 : 0);

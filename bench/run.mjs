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
const failed = [];
for (const name of chosen) {
  const started = Date.now();
  try {
    await scenarios[name]({ quick, command: `npm run bench -- ${name}${quick ? ' --quick' : ''}` });
    console.error(`[bench] ${name} passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed.push(name);
    console.error(`[bench] ${name} failed: ${error.stack ?? error}`);
  }
}
// Every scenario runs even after one fails; any failure makes the whole run fail (CI's smoke step).
if (failed.length > 0) console.error(`[bench] FAILED: ${failed.join(', ')} (${failed.length} of ${chosen.length} scenarios)`);
process.exit(failed.length > 0 ? 1 : 0);

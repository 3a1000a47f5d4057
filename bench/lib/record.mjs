// bench/results/<scenario>-node<major>.json and the scenario's generated section of bench/RESULTS.md.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../scripts/supergraph-config.mjs';
import { log, runtimeVersion } from './process.mjs';

export const benchDir = path.join(repoRoot, 'bench');

function gitCommit() {
  try {
    // git itself first: in a worktree .git is a file naming the real folder.
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().slice(0, 12);
  } catch {
    // no git on PATH: read the folder directly
  }
  try {
    const head = readFileSync(path.join(repoRoot, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref:')) return head.slice(0, 12);
    const ref = path.join(repoRoot, '.git', head.slice(5));
    return existsSync(ref) ? readFileSync(ref, 'utf8').trim().slice(0, 12) : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machine() {
  // The runtime the stacks ran on; the harness's own when it differs (it runs the load generator).
  const harness = runtimeVersion() === process.version ? '' : ` (harness on Node ${process.version})`;
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${runtimeVersion()}${harness}`;
}

/**
 * Writes bench/results/<scenario>-node<major>.json and puts the scenario's section for the runtime the
 * stacks ran on (`runtimeVersion()`, BENCH_NODE or this Node) in bench/RESULTS.md, headed by the command,
 * commit, machine and date. Each runtime keeps a section of its own, so figures of two Node lines stand
 * side by side: the section of the same scenario and major is replaced (sections from before runtimes were
 * tagged count as the runtime their header names), another runtime's is kept and the new one goes after it.
 * Only what sits between a section's markers is generated: the words about the results are hand-written in
 * the scenario's `<!-- notes:<scenario> -->` block after its sections, which no run touches.
 */
export function record(scenario, command, summary, markdown) {
  // Smoke runs (--quick, CI) check the harness only: they never touch RESULTS.md or results/*.json.
  if (summary?.quick || /(^|\s)--quick(\s|$)/.test(command)) {
    log(`${scenario}: quick run, nothing recorded`);
    return;
  }
  const major = /^v(\d+)\./.exec(runtimeVersion())?.[1] ?? 'unknown';
  mkdirSync(path.join(benchDir, 'results'), { recursive: true });
  const meta = { scenario, command, commit: gitCommit(), machine: machine(), date: new Date().toISOString(), database: process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite' };
  writeFileSync(path.join(benchDir, 'results', `${scenario}-node${major}.json`), `${JSON.stringify({ ...meta, ...summary }, null, 2)}\n`);
  const file = path.join(benchDir, 'RESULTS.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nEvery table is produced by the command above it; medians of interleaved runs, never single runs.\n';
  const tag = `${scenario} node${major}`;
  const section = `<!-- scenario:${tag} -->\n## ${scenario} — Node ${major}\n\n\`${command}\` — commit ${meta.commit}, ${meta.machine}, ${meta.database}, ${meta.date.slice(0, 10)}\n\n${markdown.trim()}\n<!-- /scenario:${tag} -->`;
  writeFileSync(file, placeSection(existing, scenario, major, section));
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** RESULTS.md with `section` in place of the scenario's section for `major`, or after the scenario's other sections. */
export function placeSection(existing, scenario, major, section) {
  const sections = [...existing.matchAll(new RegExp(`<!-- scenario:${escapeRegExp(scenario)}(?: node(\\d+))? -->[\\s\\S]*?<!-- /scenario:${escapeRegExp(scenario)}(?: node\\d+)? -->`, 'g'))];
  const runtimeOf = (match) => match[1] ?? /Node v(\d+)\./.exec(match[0])?.[1];
  const same = sections.find((match) => runtimeOf(match) === major);
  if (same) return existing.slice(0, same.index) + section + existing.slice(same.index + same[0].length);
  const last = sections.at(-1);
  if (last) {
    const at = last.index + last[0].length;
    return `${existing.slice(0, at)}\n\n${section}${existing.slice(at)}`;
  }
  // Notes written before the scenario's first recorded run: the figures go above them.
  const notes = existing.indexOf(`<!-- notes:${scenario} -->`);
  if (notes >= 0) return `${existing.slice(0, notes)}${section}\n\n${existing.slice(notes)}`;
  return `${existing.trimEnd()}\n\n${section}\n`;
}

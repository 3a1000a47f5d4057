#!/usr/bin/env node
// npm run schema:check -- <subgraph> [--sdl file] [--allow-breaking] [--json] [--config supergraph.yaml] [--against supergraph.graphql]
//                          [--usage [--days 7] [--min-count 1] [--usage-file export.json] [--trusted-documents file|none]]
//
// `rover subgraph check` without a registry: composes the candidate SDL of one
// subgraph with the other subgraphs' SDL (as `npm run compose` does), then
// compares the client-facing API schema of that composition with the API
// schema of the committed supergraph. Exit 0: composes, nothing breaks (or
// --allow-breaking); 1: composition errors or breaking changes; 2: bad usage.
// With --usage, a breaking change fails only when some client used it in the
// window or a trusted document uses it (schema-check-usage.mjs); every use of
// --allow-breaking is logged on stderr with who ran it. What breaks is decided
// in schema-diff.mjs.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Supergraph } from '@apollo/federation-internals';
import { diffApiSchemas } from './schema-diff.mjs';
import { actor, classifyBreaking, loadTrustedDocuments, loadUsage, trustedDocumentUsage, usageLines, UsageSourceError } from './schema-check-usage.mjs';
import { compose, readSupergraphConfig, repoRoot } from './supergraph-config.mjs';

export { diffApiSchemas };

/** A mistake in how the check was called (exit 2), as opposed to a failed check. */
export class UsageError extends Error {}

/**
 * The schema clients see: no join__/link__ machinery, no @inaccessible
 * elements. `supportedFeatures: null` because whether a gateway enforces a
 * `for: SECURITY` feature is the gateway's question, not the check's.
 */
export function apiSchemaOf(supergraphSdl) {
  return Supergraph.build(supergraphSdl, { supportedFeatures: null }).apiSchema().toGraphQLJSSchema();
}

/**
 * @param {{ subgraph: string, sdlFile?: string, configFile?: string, baselineFile?: string }} options
 *   sdlFile defaults to the subgraph's schema file in the config; baselineFile to schema/supergraph.graphql.
 */
export function checkSubgraph(options) {
  return compareSubgraph(options).result;
}

/** checkSubgraph's result, and the baseline API schema it was compared with (a usage check reads documents against it). */
function compareSubgraph({ subgraph, sdlFile, configFile, baselineFile }) {
  const config = readSupergraphConfig(configFile);
  const target = config.subgraphs.find((s) => s.name === subgraph);
  if (!target) {
    throw new UsageError(`unknown subgraph "${subgraph}": supergraph.yaml lists ${config.subgraphs.map((s) => s.name).join(', ')}`);
  }
  const candidateFile = sdlFile ? path.resolve(sdlFile) : target.schemaFile;
  const baseline = baselineFile ? path.resolve(baselineFile) : path.join(repoRoot, 'schema', 'supergraph.graphql');
  const baselineSdl = readOrExplain(baseline, 'the committed supergraph (run `npm run compose`)');
  readOrExplain(candidateFile, 'the candidate SDL');
  const result = {
    subgraph,
    candidate: path.relative(repoRoot, candidateFile),
    baseline: path.relative(repoRoot, baseline),
    compositionErrors: [],
    hints: [],
    breaking: [],
    dangerous: [],
    safe: [],
  };
  // Pointing the subgraph at the candidate file (rather than passing its text) makes errors name that file.
  const composed = compose(config.subgraphs.map((s) => (s === target ? { ...s, schemaFile: candidateFile } : s)));
  const baselineSchema = apiSchemaOf(baselineSdl);
  if (composed.errors) return { result: { ...result, compositionErrors: composed.errors, passed: false }, baselineSchema };
  result.hints = composed.hints;
  Object.assign(result, diffApiSchemas(baselineSchema, apiSchemaOf(composed.supergraphSdl)));
  return { result: { ...result, passed: result.breaking.length === 0 }, baselineSchema };
}

function readOrExplain(file, what) {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${what} must be a readable file; ${file}: ${error.code ?? error.message}`);
  }
}

/** The human-readable report. */
export function formatReport(result, { allowBreaking = false } = {}) {
  const lines = [`schema check: ${result.subgraph} (${result.candidate}) against ${result.baseline}`];
  if (result.compositionErrors.length > 0) {
    const n = result.compositionErrors.length;
    lines.push('', `FAIL: composition failed (${n} error${n === 1 ? '' : 's'}):`);
    for (const error of result.compositionErrors) lines.push(`  - ${error}`);
    return lines.join('\n');
  }
  const section = (title, mark, changes) => {
    if (changes.length === 0) return;
    lines.push('', `${title} (${changes.length})`);
    for (const c of changes) {
      lines.push(`  ${mark} ${c.kind}  ${c.coordinate}`, `      ${c.description}`);
      if (c.old !== null || c.new !== null) lines.push(`      ${oneLine(c.old)} → ${oneLine(c.new)}`);
      lines.push(...usageLines(c));
    }
  };
  const usage = result.usage;
  const used = result.breaking.filter((c) => c.usage?.used);
  if (usage) {
    lines.push(`usage: ${usage.source}, last ${usage.days} day(s) (since ${usage.since}), --min-count ${usage.minCount}; trusted documents: ${usage.trustedDocuments ? `${usage.trustedDocuments.source} (${usage.trustedDocuments.count})` : 'none'}`);
    section('BREAKING, USED', '✗', used);
    section('BREAKING, UNUSED', '✓', result.breaking.filter((c) => !c.usage?.used));
  } else {
    section('BREAKING', '✗', result.breaking);
  }
  section('DANGEROUS', '!', result.dangerous);
  section('SAFE', '+', result.safe);
  for (const hint of result.hints) lines.push(`hint: ${hint}`);
  const others = `${result.dangerous.length} dangerous, ${result.safe.length} safe`;
  lines.push('');
  if (usage && result.breaking.length > 0 && used.length === 0) {
    lines.push(`PASS: ${result.breaking.length} breaking change(s), none used in the last ${usage.days} day(s) (${others})`);
  } else if (usage && result.breaking.length > 0 && !allowBreaking) {
    lines.push(`FAIL: ${used.length} of ${result.breaking.length} breaking change(s) used in the last ${usage.days} day(s) (${others}); --allow-breaking accepts them knowingly`);
  } else if (result.breaking.length === 0) {
    const total = result.dangerous.length + result.safe.length;
    lines.push(total === 0 ? 'PASS: no breaking changes; the API schema is unchanged' : `PASS: no breaking changes (${others})`);
  } else if (allowBreaking) {
    lines.push(`PASS (--allow-breaking): ${result.breaking.length} breaking change(s) accepted (${others})`);
  } else {
    lines.push(`FAIL: ${result.breaking.length} breaking change(s) (${others}); --allow-breaking accepts them knowingly`);
  }
  return lines.join('\n');
}

function oneLine(text) {
  if (text === null) return '(absent)';
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

const USAGE_TEXT = `usage: npm run schema:check -- <subgraph> [--sdl file] [--allow-breaking] [--json] [--config supergraph.yaml] [--against supergraph.graphql]
         [--usage [--days 7] [--min-count 1] [--usage-file export.json] [--trusted-documents manifest.json|none]]`;

async function main(argv) {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        sdl: { type: 'string' }, config: { type: 'string' }, against: { type: 'string' },
        'allow-breaking': { type: 'boolean', default: false }, json: { type: 'boolean', default: false },
        usage: { type: 'boolean', default: false }, days: { type: 'string', default: '7' }, 'min-count': { type: 'string', default: '1' },
        'usage-file': { type: 'string' }, 'trusted-documents': { type: 'string' },
        // Set by `npm run schema:check`: the store's reader is compiled TypeScript, built first when it is read.
        build: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    console.error(`${error.message}\n${USAGE_TEXT}`);
    return 2;
  }
  if (args.positionals.length !== 1) {
    console.error(`exactly one subgraph name is required, got ${args.positionals.length}\n${USAGE_TEXT}`);
    return 2;
  }
  // npm runs scripts from the package root; relative paths are meant from where it was called.
  const from = (file) => file && path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
  const { values } = args;
  const allowBreaking = values['allow-breaking'];
  const days = Number(values.days);
  const minCount = Number(values['min-count']);
  let result;
  try {
    if (!values.usage && (values['usage-file'] || values['trusted-documents'])) throw new UsageError('--usage-file and --trusted-documents go with --usage');
    if (!(days > 0)) throw new UsageError(`--days must be a positive number, got "${values.days}"`);
    if (!Number.isInteger(minCount) || minCount < 1) throw new UsageError(`--min-count must be a positive integer, got "${values['min-count']}"`);
    // Usage first: a bad export or manifest is reported before the (slower) composition.
    const now = new Date();
    const usage = values.usage && await readUsage({
      days, now, usageFile: from(values['usage-file']), trustedFile: values['trusted-documents'] === 'none' ? 'none' : from(values['trusted-documents']), build: values.build,
    });
    const compared = compareSubgraph({
      subgraph: args.positionals[0], sdlFile: from(values.sdl), configFile: from(values.config), baselineFile: from(values.against),
    });
    result = compared.result;
    if (usage && result.compositionErrors.length === 0) result = withUsage(result, compared.baselineSchema, { ...usage, days, minCount, now });
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof UsageSourceError)) throw error;
    console.error(`${error.message}\n${USAGE_TEXT}`);
    return 2;
  }
  const exitCode = result.compositionErrors.length > 0 || (!result.passed && !allowBreaking) ? 1 : 0;
  let allowBreakingLog;
  if (allowBreaking && result.compositionErrors.length === 0) {
    allowBreakingLog = acceptanceLog(result);
    console.error(allowBreakingLog.line);
  }
  console.log(values.json ? JSON.stringify({ ...result, allowBreaking, allowBreakingLog, exitCode }, null, 2) : formatReport(result, { allowBreaking }));
  return exitCode;
}

/** The usage export for the window and the trusted documents manifest (null when there is none). */
async function readUsage({ days, now, usageFile, trustedFile, build }) {
  if (!usageFile && build) {
    // Only the gateway (the store's reader) and platform: the candidate SDL under check may not compile
    // into its subgraph yet, and must not need to. Build output goes to stderr: stdout carries the report.
    try {
      execFileSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'gateway'], { cwd: repoRoot, stdio: ['ignore', 2, 2] });
    } catch {
      throw new UsageError('building the gateway (the usage store reader) failed; see the compiler output above');
    }
  }
  const usage = await loadUsage({ days, usageFile, env: process.env, now });
  const manifest = await loadTrustedDocuments({
    file: trustedFile, env: process.env, defaultFile: path.join(repoRoot, 'clients', 'app', 'generated', 'persisted-query-manifest.json'),
  });
  return { usage, manifest };
}

/** The result with each breaking change classified by usage, `passed` meaning "no used breaking change". */
function withUsage(result, baselineSchema, { usage, manifest, days, minCount, now }) {
  const trusted = manifest ? trustedDocumentUsage(baselineSchema, manifest) : [];
  const breaking = classifyBreaking(result.breaking, { oldSchema: baselineSchema, usage: usage.export, trusted, days, minCount, now });
  // Used first: they are what the report is for.
  breaking.sort((a, b) => Number(b.usage.used) - Number(a.usage.used));
  return {
    ...result,
    breaking,
    passed: breaking.every((c) => !c.usage.used),
    usage: {
      source: usage.source.startsWith(repoRoot) ? path.relative(repoRoot, usage.source) : usage.source, days, minCount, since: new Date(now.getTime() - days * 86_400_000).toISOString(),
      exportedAt: usage.export.exportedAt, from: usage.export.from, to: usage.export.to,
      trustedDocuments: manifest && { source: path.relative(repoRoot, manifest.source) || manifest.source, count: manifest.documents.length },
      used: breaking.filter((c) => c.usage.used).length,
    },
  };
}

/** Who accepted which breaking changes, and when: one stderr line, and the same in --json. */
function acceptanceLog(result) {
  const by = actor(process.env);
  const at = new Date().toISOString();
  const accepted = result.breaking.map((c) => ({ kind: c.kind, coordinate: c.coordinate, used: c.usage ? c.usage.used : null }));
  const used = accepted.filter((c) => c.used === true);
  const rest = accepted.filter((c) => c.used !== true);
  const list = (changes) => changes.map((c) => `${c.kind} ${c.coordinate}`).join(', ');
  const parts = [
    used.length > 0 ? `USED: ${list(used)}` : '',
    rest.length > 0 ? `${result.usage ? 'unused' : 'not checked against usage'}: ${list(rest)}` : '',
  ].filter(Boolean);
  const ci = process.env.GITHUB_RUN_ID ? ` (GitHub run ${process.env.GITHUB_RUN_ID})` : '';
  const line = `schema check: --allow-breaking used by ${by}${ci} at ${at} on ${result.subgraph}: ${accepted.length} breaking change(s) accepted${parts.length ? `; ${parts.join('; ')}` : ''}`;
  return { by, at, subgraph: result.subgraph, accepted: [...used, ...rest], line };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// npm run usage — who uses what in the supergraph, from the gateway's usage store (issue 22).
//   --field <coordinate> [--days 7]    clients, versions, operations, counts, first/last seen; subgraphs that served it
//   --unused [--days 30] [--supergraph schema/supergraph.graphql]   API coordinates nobody used in the window
//   --export [--days 7] [--out file]   the suoke-usage JSON that `schema:check --usage` reads
//   --json                             machine output for --field and --unused
// The store is the gateway's: USAGE_DATABASE_URL, else DATABASE_URL, else embedded PGlite under
// PGLITE_DATA_DIR (or .data)/gateway-usage, read through the running gateway when one holds it.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './supergraph-config.mjs';

const usage = await import(pathToFileURL(path.join(repoRoot, 'gateway/dist/usage/index.js')).href);

const HELP = `usage: npm run usage -- --field <coordinate> [--days 7] [--json]
       npm run usage -- --unused [--days 30] [--supergraph file] [--json]
       npm run usage -- --export [--days 7] [--out file]`;

function fail(message) {
  console.error(message);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    options: {
      field: { type: 'string' },
      unused: { type: 'boolean', default: false },
      export: { type: 'boolean', default: false },
      days: { type: 'string' },
      out: { type: 'string' },
      supergraph: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  fail(`${error.message}\n${HELP}`);
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}
const modes = [args.field !== undefined, args.unused, args.export].filter(Boolean).length;
if (modes !== 1) fail(`give exactly one of --field, --unused, --export\n${HELP}`);
const days = args.days === undefined ? (args.unused ? 30 : 7) : Number(args.days);
if (!(days > 0) || days > 3_650) fail(`--days must be a number of days from 1 to 3650 (received ${args.days})`);

let config;
try {
  config = usage.loadUsageConfig(process.env);
} catch (error) {
  fail(error.message);
}

const now = new Date();
const window = usage.windowOf(days, now);
const reader = await usage.openUsageReader(config);
try {
  if (args.export) {
    const exported = await usage.usageExport(reader, window, now);
    const text = `${JSON.stringify(exported, null, 2)}\n`;
    if (args.out) {
      writeFileSync(args.out, text);
      console.error(`wrote ${Object.keys(exported.coordinates).length} coordinates (${days} days) to ${args.out}`);
    } else process.stdout.write(text);
  } else if (args.unused) {
    const file = path.resolve(args.supergraph ?? path.join(repoRoot, 'schema/supergraph.graphql'));
    const unused = await usage.unusedCoordinates(reader, readFileSync(file, 'utf8'), window);
    if (args.json) console.log(JSON.stringify({ from: window.from, to: window.to, unused }, null, 2));
    else {
      console.log(`${unused.length} coordinates of ${path.relative(process.cwd(), file) || file} unused in the last ${days} days:`);
      for (const coordinate of unused) console.log(`  ${coordinate}`);
    }
  } else {
    const report = await usage.fieldUsage(reader, args.field, window);
    if (args.json) console.log(JSON.stringify({ coordinate: args.field, from: window.from, to: window.to, ...report }, null, 2));
    else printField(args.field, report);
  }
} finally {
  await reader.close();
}

function printField(coordinate, { entries, subgraphs }) {
  const total = entries.reduce((sum, e) => sum + e.count, 0);
  console.log(`${coordinate}: ${total} uses in the last ${days} days (${window.from.toISOString()} … ${window.to.toISOString()})`);
  if (entries.length === 0) {
    console.log('  nobody used it in this window');
  } else {
    table(['client', 'version', 'operation', 'count', 'first seen', 'last seen'], entries.map((e) => [e.client, e.version, e.operation, String(e.count), e.firstSeen, e.lastSeen]));
  }
  if (subgraphs.length > 0) {
    console.log('served by:');
    table(['subgraph', 'count', 'first seen', 'last seen'], subgraphs.map((s) => [s.subgraph, String(s.count), s.firstSeen, s.lastSeen]));
  }
}

function table(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `  ${cells.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd();
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}

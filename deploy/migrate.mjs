#!/usr/bin/env node
// Applies one subgraph's committed SQL migrations against DATABASE_URL (a no-op
// when up to date; concurrent runs serialise on an advisory lock). Container
// images run it before the subgraph starts: `node deploy/migrate.mjs user`.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const name = process.argv[2];
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error('usage: node deploy/migrate.mjs <subgraph>');
  process.exit(2);
}
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { openSubgraphDatabase, loadConfigOrExit } = await import(pathToFileURL(path.join(root, 'platform/dist/index.js')).href);
const { definition } = await import(pathToFileURL(path.join(root, 'subgraphs', name, 'dist/server.js')).href);
const config = loadConfigOrExit(() => definition.loadConfig());
const database = await openSubgraphDatabase(definition, config, 2);
try {
  const result = await definition.migrate(database);
  console.log(`migrate ${name}: ${result.applied.length} applied, ${result.skipped.length} already applied (${database.kind})`);
} catch (error) {
  console.error(`migrate ${name} failed: ${error instanceof Error ? error.message : error}`);
  process.exitCode = 1;
} finally {
  await database.close();
}

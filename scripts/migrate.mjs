#!/usr/bin/env node
// npm run migrate — applies every subgraph's committed SQL migrations and the gateway's usage store's (a no-op when up to date).
import { migrateAll } from './services.mjs';

try {
  await migrateAll();
} catch (error) {
  console.error(`migration failed: ${error.message}`);
  process.exit(1);
}

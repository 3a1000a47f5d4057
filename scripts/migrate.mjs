#!/usr/bin/env node
// npm run migrate — applies every subgraph's committed SQL migrations (a no-op when up to date).
import { migrateAll } from './services.mjs';

try {
  await migrateAll();
} catch (error) {
  console.error(`migration failed: ${error.message}`);
  process.exit(1);
}

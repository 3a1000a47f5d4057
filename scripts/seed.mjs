#!/usr/bin/env node
// npm run seed — the idempotent development seed (SEED_USERS=N adds N accounts, SEED_DAYS=D days of history each).
import { seedAll } from './services.mjs';

try {
  await seedAll();
} catch (error) {
  console.error(`seed failed: ${error.message}`);
  process.exit(1);
}

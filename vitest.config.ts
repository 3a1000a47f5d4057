import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources; one module instance of the platform
    // (and so one SQL statement counter) is shared by every service in a test.
    alias: [
      { find: /^@suoke\/platform\/testing$/, replacement: src('./platform/src/testing.ts') },
      { find: /^@suoke\/platform$/, replacement: src('./platform/src/index.ts') },
      // Node loads graphql's CommonJS build (as @apollo/* does); without this Vite
      // would pick its ESM build for our sources and `instanceof` checks would split.
      { find: /^graphql$/, replacement: require.resolve('graphql') },
    ],
  },
  test: {
    include: ['platform/**/*.test.ts', 'gateway/**/*.test.ts', 'subgraphs/*/test/**/*.test.ts', 'tests/**/*.test.ts', 'scripts/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', NODE_ENV: 'test' },
    // postgres.js can write to a socket it has just lost when PostgreSQL is killed under it
    // (tests/postgres-restart.test.ts does so on purpose); the client reconnects, and that test
    // checks every stored row. Any other unhandled error still fails the run.
    onUnhandledError(error) {
      if (error.message === "Cannot read properties of null (reading 'write')" && /postgres[\\/]src[\\/]connection\.js/.test(error.stack ?? '')) return false;
    },
  },
});

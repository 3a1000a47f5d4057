import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run the TypeScript sources; one module instance of the platform
    // (and so one SQL statement counter) is shared by every service in a test.
    alias: [
      { find: /^@suoke\/platform\/testing$/, replacement: src('./platform/src/testing.ts') },
      { find: /^@suoke\/platform$/, replacement: src('./platform/src/index.ts') },
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
  },
});

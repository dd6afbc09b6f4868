import { defineConfig } from 'vitest/config';

// Unit tests sit next to the code (src/**/*.test.ts); end-to-end suites in test/e2e run
// against a real PostgreSQL started by test/helpers/real-postgres.ts.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
  },
});

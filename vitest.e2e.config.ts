import { defineConfig } from 'vitest/config';

// The end-to-end tests that need a real build (CROSSDOCK_E2E_DIST) and whole emulated machines;
// .ci/e2e-build runs them after the build. Not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    pool: 'forks',
    fileParallelism: false,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});

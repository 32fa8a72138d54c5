import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // test/e2e needs a real build and whole emulated machines: vitest.e2e.config.ts.
    exclude: ['test/e2e/**', '**/node_modules/**'],
    // Cross compilers and QEMU are slow under two cores; this is a hang guard, not a speed test.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});

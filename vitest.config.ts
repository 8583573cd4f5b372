import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Prints once when the Redis tests could not run (no redis-server, no REDIS_URL).
    globalSetup: ['test/support/redis-global-setup.ts'],
    // In CI, also write a machine-readable result for .ci/run's closing summary line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: process.env.CI ? { json: '.ci/test-results.json' } : undefined,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // oidc-provider prints development notices; they are not test output.
    onConsoleLog: (log) => (log.startsWith('oidc-provider ') ? false : undefined),
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // oidc-provider prints development notices; they are not test output.
    onConsoleLog: (log) => (log.startsWith('oidc-provider ') ? false : undefined),
  },
});

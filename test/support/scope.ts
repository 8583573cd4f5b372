import { afterEach } from 'vitest';
import type { ConnectionManager, IntegrationConfig } from '../../src/index.js';
import { testManager } from './manager.js';

/**
 * Things a test started (servers), closed after each test. Call once per test file.
 */
export function testScope() {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return {
    defer(cleanup: () => Promise<void>): void {
      cleanups.push(cleanup);
    },
    /** `testManager({ integrations })`, kept for the files that still call it. */
    managerWith(integrations: Record<string, IntegrationConfig>): ConnectionManager {
      return testManager({ integrations });
    },
  };
}

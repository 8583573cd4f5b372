import { afterEach } from 'vitest';
import { ConnectionManager, type IntegrationConfig } from '../../src/index.js';
import { captureLogs } from './logs.js';

/**
 * Things a test started (servers, managers), closed after each test. Call once per test file.
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
    /** A manager allowed to reach loopback test servers over plain HTTP, closed after the test. */
    managerWith(integrations: Record<string, IntegrationConfig>): ConnectionManager {
      const manager = new ConnectionManager({
        integrations,
        http: { allowInsecureLoopback: true },
        logger: captureLogs().logger,
      });
      cleanups.push(() => manager.close());
      return manager;
    },
  };
}

import { onTestFinished } from 'vitest';
import { type Clock, ConnectionManager, type ConnectionManagerOptions } from '../../src/index.js';
import { captureLogs } from './logs.js';

/** A clock that stands still unless a test moves it; usable wherever a `Clock` is (it is one). */
export interface TestClock extends Clock {
  /** The current instant, in epoch milliseconds. */
  now(): number;
  /** Moves the clock forward (or back, for a negative `ms`) and returns the new instant. */
  advance(ms: number): number;
}

/**
 * A fixed clock starting at `start` (epoch milliseconds or an ISO date). The default start is the
 * real time when it is made, so tokens it dates stay acceptable to the local servers, which check
 * against the real clock; give a start for dates a test asserts on.
 */
export function testClock(start: number | string = Date.now()): TestClock {
  let current = typeof start === 'string' ? Date.parse(start) : start;
  if (!Number.isFinite(current)) throw new Error(`testClock: not an instant: ${String(start)}`);
  const now = () => current;
  return Object.assign(now, {
    now,
    advance(ms: number) {
      current += ms;
      return current;
    },
  });
}

/**
 * The options a test manager gets: the caller's, over these defaults — `http.allowInsecureLoopback`
 * (the local test servers speak plain HTTP on 127.0.0.1), `revokeOnDelete: false`, a captured logger (so no test prints the
 * plain-text-storage warning), and a fixed {@link testClock}. `http` is merged, not replaced.
 */
export function testManagerOptions(options: ConnectionManagerOptions = {}): ConnectionManagerOptions {
  return {
    ...options,
    http: { allowInsecureLoopback: true, ...options.http },
    // Catalog providers (GitHub, Google, Slack) revoke at their real endpoints: no test reaches the
    // internet, so only tests that ask for revocation get it.
    revokeOnDelete: options.revokeOnDelete ?? false,
    logger: options.logger ?? captureLogs().logger,
    clock: options.clock ?? testClock(),
  };
}

/**
 * A manager for one test, with {@link testManagerOptions}' defaults, closed when the test finishes
 * (passed or failed). Call it inside a test or a `beforeEach`; a manager shared by a whole file is
 * built with `new ConnectionManager(testManagerOptions(…))` and closed in `afterAll`.
 */
export function testManager(options: ConnectionManagerOptions = {}): ConnectionManager {
  const manager = new ConnectionManager(testManagerOptions(options));
  try {
    onTestFinished(() => manager.close());
  } catch (error) {
    void manager.close();
    throw new Error(
      'testManager() closes its manager when the test finishes, so it must be called inside a test or a beforeEach',
      { cause: error },
    );
  }
  return manager;
}

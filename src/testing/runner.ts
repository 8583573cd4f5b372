import type { StorageAdapter } from '../store/adapter.js';

/**
 * The parts of a test framework the conformance suite uses — vitest, Jest, Mocha and
 * `node:test` all provide them — injected as `@keyv/test-suite` does, so Latchkey depends on none.
 * Assertions are `node:assert`'s.
 */
export interface TestRunner {
  /** Groups cases under a name. */
  describe(name: string, body: () => void): unknown;
  /** One case; it fails when `body` rejects. */
  it(name: string, body: () => Promise<void>, timeoutMs?: number): unknown;
  /** Runs once before the cases of the enclosing group. */
  beforeAll(body: () => Promise<void> | void, timeoutMs?: number): unknown;
  /** Runs once after the cases of the enclosing group. */
  afterAll(body: () => Promise<void> | void, timeoutMs?: number): unknown;
}

/** One backend under test. */
export interface StorageUnderTest {
  /** A fresh, empty store. */
  store: StorageAdapter;
  /**
   * Another store over the same data through its own connection — another process, in effect.
   * The memory store, which one process alone can see, returns a view of itself.
   */
  openAgain(): StorageAdapter;
  /** Called once after the suite: close what `open` started. */
  cleanup?(): Promise<void>;
}

/** Opens a fresh, empty backend for one case. */
export type OpenStorage = () => Promise<StorageUnderTest>;

/** Tracks what a suite opened, so it is all cleaned up after the suite. */
export function openedBackends(runner: TestRunner, open: OpenStorage): OpenStorage {
  const opened: StorageUnderTest[] = [];
  runner.afterAll(async () => {
    for (const backend of opened) await backend.cleanup?.();
  });
  return async () => {
    const backend = await open();
    opened.push(backend);
    return backend;
  };
}

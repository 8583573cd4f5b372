/**
 * `latchkey/testing`: the storage conformance suite every adapter passes, for adapters written
 * outside this package too. Give it your test framework's functions and a way to open your store.
 *
 * @example
 * ```ts
 * import { afterAll, beforeAll, describe, it } from 'vitest';
 * import { storageConformance } from 'latchkey/testing';
 * import { myStore } from 'my-latchkey-store';
 *
 * storageConformance({ describe, it, beforeAll, afterAll }, 'my-store', async () => {
 *   const store = myStore(process.env.MY_URL!);
 *   return { store, openAgain: () => myStore(process.env.MY_URL!), cleanup: () => store.close() };
 * });
 * ```
 *
 * @module
 */
import { adapterCases } from './adapter-cases.js';
import { endToEndCases } from './end-to-end-cases.js';
import type { OpenStorage, TestRunner } from './runner.js';

export { adapterCases } from './adapter-cases.js';
export { endToEndCases } from './end-to-end-cases.js';
export { type RotatingTokenServer, startRotatingTokenServer } from './rotating-token-server.js';
export type { OpenStorage, StorageUnderTest, TestRunner } from './runner.js';
export { watchCases } from './watch-cases.js';

/**
 * Both halves of the suite: the storage contract method by method ({@link adapterCases}), then
 * the manager on the store ({@link endToEndCases}). `open` must give a fresh, empty store each time.
 */
export function storageConformance(runner: TestRunner, name: string, open: OpenStorage): void {
  adapterCases(runner, name, open);
  endToEndCases(runner, name, open);
}

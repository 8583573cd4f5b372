import assert from 'node:assert/strict';
import type { StoreChange } from '../store/adapter.js';
import { openedBackends, type OpenStorage, type TestRunner } from './runner.js';

/** Polls `done` until it holds, failing after `ms`: the channel's delay is the backend's, not a fixed wait. */
async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new assert.AssertionError({ message: `no ${what} within ${ms} ms` });
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * The optional `watch` capability (what the manager's `nearCache` needs), for adapters that
 * implement it: `up` first, then a `changed` (naming the key, or not) after each insert, replace
 * and delete made through another connection, and nothing more once stopped.
 */
export function watchCases(runner: TestRunner, name: string, openStorage: OpenStorage): void {
  const { describe, it } = runner;
  describe(`${name}: change reports (watch)`, () => {
    const open = openedBackends(runner, openStorage);

    it('reports up, then each write committed through another connection, until stopped', async () => {
      const { store, openAgain } = await open();
      assert.equal(typeof store.watch, 'function', 'the adapter has no watch');
      const changes: StoreChange[] = [];
      const stop = store.watch!((change) => changes.push(change));
      const other = openAgain();
      try {
        await until(() => changes.some((change) => change.type === 'up'), 'up');
        const reported = (key: string) => {
          const from = changes.length;
          return () =>
            changes
              .slice(from)
              .some((change) => change.type === 'changed' && (change.key === undefined || change.key === key));
        };
        for (const write of [
          () => other.insert('watched', 'v1'),
          () => other.replace('watched', 'v1', 'v2'),
          () => other.delete('watched', 'v2'),
        ]) {
          const seen = reported('watched');
          assert.equal(await write(), true);
          await until(seen, 'change report');
        }
        assert.equal(
          changes.some((change) => change.type === 'down'),
          false,
        );
        await stop();
        const after = changes.length;
        await other.insert('unwatched', 'v');
        // The write's own report would have come through the same channel: it is closed now.
        assert.equal(changes.length, after);
      } finally {
        await stop();
        await other.close();
      }
    });
  });
}

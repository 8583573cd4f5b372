import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionIndex } from '../store/adapter.js';
import { openedBackends, type OpenStorage, type TestRunner } from './runner.js';

const index = (id: number, overrides: Partial<ConnectionIndex> = {}): ConnectionIndex => ({
  id,
  providerConfigKey: 'github',
  connectionId: `c${id}`,
  tags: {},
  attentionAt: null,
  ...overrides,
});

/**
 * The storage contract case by case, straight against the adapter: what every method promises in
 * its documentation, including the edges (an absent key, an expired entry, a lapsed lease, a
 * second close) and the concurrency that Latchkey's correctness rests on.
 */
export function adapterCases(runner: TestRunner, name: string, openStorage: OpenStorage): void {
  const { describe, it } = runner;
  describe(`${name}: storage contract`, () => {
    const open = openedBackends(runner, openStorage);

    describe('conditional writes', () => {
      it('inserts only when absent, replaces and deletes only the expected version', async () => {
        const { store } = await open();
        assert.equal(await store.insert('k', 'v1'), true);
        assert.equal(await store.insert('k', 'other'), false);
        assert.equal(await store.replace('k', 'stale', 'v2'), false);
        assert.equal(await store.get('k'), 'v1');
        assert.equal(await store.replace('k', 'v1', 'v2'), true);
        assert.equal(await store.delete('k', 'v1'), false);
        assert.equal(await store.get('k'), 'v2');
        assert.equal(await store.delete('k', 'v2'), true);
        assert.equal(await store.get('k'), undefined);
      });

      it('deletes unconditionally without an expected value, and answers false for an absent or expired key', async () => {
        const { store } = await open();
        assert.equal(await store.delete('never-written'), false);
        assert.equal(await store.delete('never-written', 'x'), false);
        await store.insert('k', 'v');
        assert.equal(await store.delete('k'), true);
        assert.equal(await store.delete('k'), false);
        assert.equal(await store.replace('k', 'v', 'w'), false);
      });

      it('lets exactly one of many concurrent writers of the same version win, across connections', async () => {
        const { store, openAgain } = await open();
        const other = openAgain();
        await store.insert('race', 'v0');
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).replace('race', 'v0', `writer-${i}`)),
        );
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal(await store.get('race'), `writer-${results.indexOf(true)}`);
        const inserts = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).insert('fresh', `inserter-${i}`)),
        );
        assert.equal(inserts.filter(Boolean).length, 1);
        await other.close();
      });

      it('keeps text exactly as given (unicode, quotes, long values)', async () => {
        const { store } = await open();
        const value = JSON.stringify({ s: 'ä "quoted" \\ \u2028 🎉', long: 'x'.repeat(20_000) });
        await store.insert('exact', value);
        assert.equal(await store.get('exact'), value);
      });
    });

    describe('expiry', () => {
      it('reads an entry past its expiresAt as absent, and lets it be inserted again', async () => {
        const { store } = await open();
        // Generous margins: the first reads must land before expiry even on a loaded machine.
        const expiresAt = Date.now() + 1500;
        assert.equal(await store.insert('flow:1', 'pending', { expiresAt }), true);
        assert.equal(await store.get('flow:1'), 'pending');
        assert.equal(await store.insert('flow:1', 'again'), false);
        await sleep(expiresAt - Date.now() + 100);
        assert.equal(await store.get('flow:1'), undefined);
        assert.equal(await store.replace('flow:1', 'pending', 'late'), false);
        assert.equal(await store.delete('flow:1', 'pending'), false);
        assert.equal(await store.delete('flow:1'), false);
        assert.equal((await store.scan('flow:', { limit: 10 })).length, 0);
        assert.equal(await store.insert('flow:1', 'again'), true);
        assert.equal(await store.get('flow:1'), 'again');
      });
    });

    describe('scan', () => {
      it('pages through one prefix in key order, strictly after the cursor', async () => {
        const { store } = await open();
        const keys = ['a:3', 'a:1', 'a:10', 'a:2', 'b:1', 'a', 'a:%', 'a:_x', 'ab:1'];
        for (const key of keys) await store.insert(key, `v-${key}`);
        const walked: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.scan('a:', { after, limit: 2 });
          assert.ok(page.length <= 2);
          walked.push(...page.map((entry) => entry.key));
          for (const entry of page) assert.equal(entry.value, `v-${entry.key}`);
          if (page.length < 2) break;
          after = page[page.length - 1]!.key;
        }
        assert.deepEqual(walked, ['a:%', 'a:1', 'a:10', 'a:2', 'a:3', 'a:_x']);
        assert.deepEqual(
          (await store.scan('', { limit: 100 })).map((entry) => entry.key),
          [...keys].sort(),
        );
      });
    });

    describe('connection index', () => {
      it('finds connections by each filter, in id order, keyset-paged', async () => {
        const { store } = await open();
        await store.insert('r1', 'one', { index: index(1, { tags: { env: 'prod' }, endUserId: 'u-1' }) });
        await store.insert('r3', 'three', {
          index: index(3, { providerConfigKey: 'slack', connectionId: 'c1', endUserEmail: 'Ada@Example.com' }),
        });
        await store.insert('r2', 'two', { index: index(2, { tags: { env: 'prod', team: 'a' } }) });
        await store.insert('r4', 'four', { index: index(4, { connectionId: 'Émile-Ünal' }) });
        await store.insert('plain', 'not a connection');
        const keys = async (query: Parameters<typeof store.findConnections>[0]) =>
          (await store.findConnections(query)).map((entry) => entry.key);
        assert.deepEqual(await keys({ limit: 10 }), ['r1', 'r2', 'r3', 'r4']);
        assert.deepEqual(await keys({ limit: 2 }), ['r1', 'r2']);
        assert.deepEqual(await keys({ limit: 2, afterId: 2 }), ['r3', 'r4']);
        // Case folded the way JavaScript folds it, beyond ASCII, in every store.
        assert.deepEqual(await keys({ search: 'émile-ü', limit: 10 }), ['r4']);
        assert.deepEqual(await keys({ connectionId: 'c1', limit: 10 }), ['r1', 'r3']);
        assert.deepEqual(await keys({ providerConfigKeys: ['slack'], limit: 10 }), ['r3']);
        assert.deepEqual(await keys({ providerConfigKeys: ['slack', 'github'], limit: 10 }), ['r1', 'r2', 'r3', 'r4']);
        assert.deepEqual(await keys({ providerConfigKeys: [], limit: 10 }), []);
        assert.deepEqual(await keys({ endUserId: 'u-1', limit: 10 }), ['r1']);
        assert.deepEqual(await keys({ tags: { env: 'prod' }, limit: 10 }), ['r1', 'r2']);
        assert.deepEqual(await keys({ tags: { env: 'prod', team: 'a' }, limit: 10 }), ['r2']);
        assert.deepEqual(await keys({ search: 'C2', limit: 10 }), ['r2']);
        assert.deepEqual(await keys({ search: 'example.COM', limit: 10 }), ['r3']);
        assert.deepEqual(await keys({ search: '%', limit: 10 }), []);
        assert.deepEqual(await keys({ search: 'u-', limit: 10 }), ['r1']);
        const [first] = await store.findConnections({ limit: 1 });
        assert.deepEqual(first, { key: 'r1', value: 'one' });
      });

      it('lists newest first when asked, keyset-paged downwards, with every filter', async () => {
        const { store } = await open();
        for (const id of [1, 2, 3, 4, 5]) {
          const tags = id % 2 === 1 ? { env: 'prod' } : { env: 'dev' };
          await store.insert(`r${id}`, `v${id}`, { index: index(id, { tags }) });
        }
        const keys = async (query: Parameters<typeof store.findConnections>[0]) =>
          (await store.findConnections(query)).map((entry) => entry.key);
        assert.deepEqual(await keys({ order: 'desc', limit: 10 }), ['r5', 'r4', 'r3', 'r2', 'r1']);
        assert.deepEqual(await keys({ order: 'desc', limit: 2 }), ['r5', 'r4']);
        assert.deepEqual(await keys({ order: 'desc', limit: 2, afterId: 4 }), ['r3', 'r2']);
        assert.deepEqual(await keys({ order: 'desc', limit: 10, afterId: 1 }), []);
        assert.deepEqual(await keys({ order: 'desc', tags: { env: 'prod' }, limit: 10 }), ['r5', 'r3', 'r1']);
        assert.deepEqual(await keys({ order: 'desc', tags: { env: 'prod' }, afterId: 5, limit: 1 }), ['r3']);
        assert.deepEqual(await keys({ order: 'asc', limit: 2, afterId: 4 }), ['r5']);
      });

      it('follows replaces and deletes; a replace without an index keeps the index', async () => {
        const { store } = await open();
        await store.insert('r1', 'v1', { index: index(1, { tags: { env: 'dev' } }) });
        assert.equal(await store.replace('r1', 'v1', 'v2', { index: index(1, { tags: { env: 'prod' } }) }), true);
        assert.equal((await store.findConnections({ tags: { env: 'dev' }, limit: 10 })).length, 0);
        assert.equal(await store.replace('r1', 'v2', 'v3'), true);
        assert.deepEqual(await store.findConnections({ tags: { env: 'prod' }, limit: 10 }), [
          { key: 'r1', value: 'v3' },
        ]);
        assert.equal(
          await store.replace('r1', 'stale', 'v4', { index: index(1, { providerConfigKey: 'slack' }) }),
          false,
        );
        assert.equal((await store.findConnections({ providerConfigKeys: ['slack'], limit: 10 })).length, 0);
        await store.delete('r1', 'v3');
        assert.deepEqual(await store.findConnections({ limit: 10 }), []);
      });

      it('lists what needs attention by a time, soonest first, paged, and forgets what no longer does', async () => {
        const { store } = await open();
        await store.insert('late', 'x', { index: index(1, { attentionAt: 3000 }) });
        await store.insert('never', 'x', { index: index(2) });
        await store.insert('soon-b', 'x', { index: index(3, { attentionAt: 1000 }) });
        await store.insert('soon-a', 'x', { index: index(4, { attentionAt: 1000 }) });
        await store.insert('mid', 'x', { index: index(5, { attentionAt: 2000 }) });
        const due = await store.dueForAttention(2000, { limit: 10 });
        assert.deepEqual(due, [
          { key: 'soon-a', attentionAt: 1000 },
          { key: 'soon-b', attentionAt: 1000 },
          { key: 'mid', attentionAt: 2000 },
        ]);
        const firstPage = await store.dueForAttention(5000, { limit: 2 });
        assert.deepEqual(
          firstPage.map((entry) => entry.key),
          ['soon-a', 'soon-b'],
        );
        const second = await store.dueForAttention(5000, { limit: 2, after: firstPage[1] });
        assert.deepEqual(
          second.map((entry) => entry.key),
          ['mid', 'late'],
        );
        await store.replace('soon-a', 'x', 'y', { index: index(4, { attentionAt: null }) });
        await store.delete('soon-b');
        await store.replace('late', 'x', 'y', { index: index(1, { attentionAt: 500 }) });
        assert.deepEqual(
          (await store.dueForAttention(2000, { limit: 10 })).map((entry) => entry.key),
          ['late', 'mid'],
        );
      });
    });

    describe('counters', () => {
      it('allocates distinct, increasing values under concurrency, across connections', async () => {
        const { store, openAgain } = await open();
        const other = openAgain();
        const values = await Promise.all(
          Array.from({ length: 128 }, (_, i) => (i % 2 ? other : store).increment('sequence')),
        );
        assert.equal(new Set(values).size, 128);
        assert.deepEqual(
          [...values].sort((a, b) => a - b),
          Array.from({ length: 128 }, (_, i) => i + 1),
        );
        assert.equal(await store.increment('another'), 1);
        await other.close();
      });
    });

    describe('locks', () => {
      it('has one owner at a time; only the owner releases it', async () => {
        const { store, openAgain } = await open();
        const other = openAgain();
        assert.equal(await store.locks.tryAcquire('lock-a', 'owner-1', 10_000), true);
        assert.equal(await other.locks.tryAcquire('lock-a', 'owner-2', 10_000), false);
        assert.equal(await other.locks.release('lock-a', 'owner-2'), false);
        assert.equal(await store.locks.release('lock-a', 'owner-1'), true);
        assert.equal(await store.locks.release('lock-a', 'owner-1'), false);
        assert.equal(await other.locks.tryAcquire('lock-a', 'owner-2', 10_000), true);
        await other.close();
      });

      it('lets the owner extend its lease, and a lapsed lease be taken by another owner', async () => {
        const { store, openAgain } = await open();
        const other = openAgain();
        // Leases run on the clock, so this case waits on the clock and never on a guess of how
        // long the store takes: the extension outlasts any loaded machine, the lapse is polled for.
        const takenAt = Date.now();
        assert.equal(await store.locks.tryAcquire('lock-b', 'holder', 300), true);
        assert.equal(await store.locks.tryAcquire('lock-b', 'holder', 10_000), true);
        await sleep(Math.max(0, takenAt + 400 - Date.now()));
        // Past the first 300 ms lease, inside the extension: still held.
        assert.equal(await other.locks.tryAcquire('lock-b', 'next', 10_000), false);
        // Extending sets the lease from now, so the owner can also shorten it: it lapses soon.
        assert.equal(await store.locks.tryAcquire('lock-b', 'holder', 300), true);
        assert.equal(await eventually(() => other.locks.tryAcquire('lock-b', 'next', 10_000)), true);
        assert.equal(await store.locks.release('lock-b', 'holder'), false);
        assert.equal(await store.locks.tryAcquire('lock-b', 'holder', 10_000), false);
        await other.close();
      });

      it('says, where it can (claim), whether a lock was free or taken from an owner whose lease lapsed', async () => {
        const { store, openAgain } = await open();
        const other = openAgain();
        const claim = store.locks.claim?.bind(store.locks);
        if (!claim) {
          // Optional: without it the refresher takes locks with tryAcquire, which must then be all
          // it needs (a lapsed lease taken as if free).
          assert.equal(other.locks.claim, undefined);
          assert.equal(await store.locks.tryAcquire('lock-c', 'holder', 10_000), true);
          await other.close();
          return;
        }
        assert.equal(await claim('lock-c', 'holder', 300), 'free');
        assert.equal(await claim('lock-c', 'holder', 300), 'free'); // its own, extended
        assert.equal(await other.locks.claim!('lock-c', 'next', 10_000), 'held');
        // Polled on the clock, as above: the 300 ms lease runs out, then the other owner takes it.
        assert.equal(
          await eventually(async () => (await other.locks.claim!('lock-c', 'next', 10_000)) === 'lapsed'),
          true,
        );
        assert.equal(await claim('lock-c', 'holder', 10_000), 'held');
        assert.equal(await store.locks.tryAcquire('lock-c', 'holder', 10_000), false);
        assert.equal(await other.locks.release('lock-c', 'next'), true);
        assert.equal(await claim('lock-c', 'holder', 10_000), 'free');
        await other.close();
      });
    });

    describe('close', () => {
      it('may be called twice', async () => {
        const { openAgain } = await open();
        const extra = openAgain();
        await extra.close();
        await extra.close();
      });
    });
  });
}

/** Asks `attempt` until it answers true or `timeoutMs` passes: for what only the clock brings about. */
async function eventually(attempt: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await attempt()) return true;
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
}

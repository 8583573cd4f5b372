/**
 * How the trail batches its writes: under steady traffic a partial batch is written once per
 * flush interval, not once per entry (a drain that ran until the buffer was empty wrote a record
 * for every entry or two that arrived while the previous one was being written, which on SQLite
 * made the trail cost a `get` more than half its speed); and a caller that never yields to the
 * event loop still gets its full batches written.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { sqliteStore } from '../../adapters/sqlite.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { verifyAuditTrail } from '../../src/index.js';
import { testManager } from '../support/manager.js';
import { keptOpen } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const integrations = { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' as const } } };

/** The store, left open when the manager closes it, so the test can read what was written. */
function kept(store: StorageAdapter): StorageAdapter {
  const opened = keptOpen(store);
  cleanups.push(opened.close);
  return opened.store;
}

async function batchCount(store: StorageAdapter): Promise<number> {
  return (await store.scan('audit:batch:', { limit: 100_000 })).length;
}

it('writes a partial batch once per flush interval under steady traffic, not once per entry', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'latchkey-audit-batching-'));
  cleanups.push(() => rm(directory, { recursive: true, force: true }));
  const store = kept(sqliteStore(join(directory, 'audit.db')));
  const intervalMs = 20;
  const manager = testManager({ store, audit: { flushIntervalMs: intervalMs }, integrations });
  await manager.create({
    connectionId: 'acct',
    providerConfigKey: 'keyed',
    credentials: { type: 'API_KEY', apiKey: 'sk-batching-0123456789' },
  });
  const started = performance.now();
  const gets = 400;
  for (let i = 0; i < gets; i++) await manager.get('acct');
  await manager.close();
  const elapsed = performance.now() - started;

  // Every write of a partial batch waits a full interval after the last write ended, so however
  // slow the machine, the records are at most one per interval that passed (plus the one at close
  // and the create's). Writing per arriving entry made one for every get or two.
  const intervals = Math.ceil(elapsed / intervalMs);
  expect(await batchCount(store)).toBeLessThanOrEqual(intervals + 2);
  expect(await verifyAuditTrail(store)).toMatchObject({ ok: true, entries: gets + 1 });
});

it('writes full batches for a caller that never yields to the event loop', async () => {
  const store = kept(memoryStore());
  const manager = testManager({ store, audit: { batchSize: 10, flushIntervalMs: 60_000 }, integrations });
  await manager.create({
    connectionId: 'acct',
    providerConfigKey: 'keyed',
    credentials: { type: 'API_KEY', apiKey: 'sk-batching-0123456789' },
  });
  // Every await below is answered by a microtask: no timer or immediate runs until the loop ends.
  for (let i = 0; i < 99; i++) await manager.get('acct');
  expect(await batchCount(store)).toBeGreaterThanOrEqual(8);
  await manager.close();
  expect(await verifyAuditTrail(store)).toMatchObject({ ok: true, entries: 100 });
});

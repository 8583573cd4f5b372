import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../../adapters/sqlite.js';
import { setTimeout as delay } from 'node:timers/promises';
import { ConnectionManager } from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { RecordCipher } from '../../src/store/record-cipher.js';
import { captureLogs } from '../support/logs.js';

const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };
const COUNT = 120;

/** The key id of the sealed secrets in a stored record's text, if it has any. */
const keyIdIn = (raw: string | undefined) => {
  const sealed = raw?.match(/"sealed":"([^"]+)"/)?.[1];
  return sealed === undefined ? undefined : RecordCipher.keyIdOf(sealed);
};

/**
 * The store, with the rotation's write of each record (old key → new key) held back 20 ms
 * after its read, as a slow disk or a busy process would: background writes, which
 * keep flowing meanwhile, land in between, so the race is certain rather than lucky.
 */
function slowRotation(store: StorageAdapter, oldKeyId: string, newKeyId: string): StorageAdapter {
  return {
    ...store,
    async replace(key, expected, next, options) {
      if (keyIdIn(expected) === oldKeyId && keyIdIn(next) === newKeyId) await delay(20);
      return store.replace(key, expected, next, options);
    },
  };
}

it('rotateEncryptionKey leaves no record under the old key while background last_fetched_at writes race it', async () => {
  const path = join(tmpdir(), `latchkey-rotation-${randomBytes(6).toString('hex')}.db`);
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  let now = Date.parse('2026-11-23T12:00:00.000Z');
  const options = { integrations, logger: captureLogs().logger, lastFetchedWriteIntervalMs: 0 };
  const before = new ConnectionManager({ ...options, store: sqliteStore(path), encryptionKey: oldKey });
  for (let i = 0; i < COUNT; i++) {
    await before.create({
      connectionId: `c${i}`,
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: `k${i}` },
    });
  }
  const rotating = new ConnectionManager({
    ...options,
    store: slowRotation(
      sqliteStore(path),
      new RecordCipher(oldKey).currentKeyId,
      new RecordCipher(newKey).currentKeyId,
    ),
    encryptionKey: [newKey, oldKey],
    clock: () => (now += 1),
  });
  // Every get writes last_fetched_at in the background (interval 0, a clock that always moves),
  // racing the rotation's compare-and-swap on the same records. The writes are batched, so the
  // gets go on for as long as the rotation runs.
  let rotated = false;
  const racing = (async () => {
    for (let i = 0; !rotated; i = (i + 1) % COUNT) await rotating.get(`c${i}`);
  })();
  const rotation = rotating.rotateEncryptionKey({ batchSize: 10 }).finally(() => (rotated = true));
  const [report] = await Promise.all([rotation, racing]);
  await rotating.close();
  expect(report.rewritten + report.unchanged).toBe(COUNT);
  // The race did happen (typically 10-40 of the 120 records lose a compare-and-swap at least once).
  expect(report.contended).toBeGreaterThan(0);

  const after = new ConnectionManager({ ...options, store: sqliteStore(path), encryptionKey: newKey });
  const unreadable: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    await after.get(`c${i}`).catch(() => unreadable.push(`c${i}`));
  }
  await before.close();
  await after.close();
  for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
  expect(unreadable).toEqual([]);
});

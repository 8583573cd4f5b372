import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';

const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };
const COUNT = 120;

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
    store: sqliteStore(path),
    encryptionKey: [newKey, oldKey],
    clock: () => (now += 1),
  });
  // Every get writes last_fetched_at in the background (interval 0, a clock that always moves),
  // racing the rotation's compare-and-swap on the same records.
  const racing = Array.from({ length: 4 }, () =>
    Promise.all(Array.from({ length: COUNT }, (_, i) => rotating.get(`c${i}`))),
  );
  const [report] = await Promise.all([rotating.rotateEncryptionKey({ batchSize: 10 }), ...racing]);
  await rotating.close();
  expect(report.rewritten + report.unchanged).toBe(COUNT);
  // The race did happen (about a quarter of the records lose a compare-and-swap at least once).
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

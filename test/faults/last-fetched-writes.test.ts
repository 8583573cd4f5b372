import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { ConnectionManager, type ConnectionManagerOptions } from '../../src/index.js';
import type { StorageAdapter } from '../../src/adapter.js';
import { RecordCipher } from '../../src/store/record-cipher.js';
import { captureLogs } from '../support/logs.js';
import { type SqliteHolder, startSqliteHolder } from './support/sqlite-holder.js';

const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };
const start = Date.parse('2026-11-23T12:00:00.000Z');
let path: string;
let holder: SqliteHolder | undefined;
let now: number;
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

beforeEach(() => {
  path = join(tmpdir(), `latchkey-fetched-${randomBytes(6).toString('hex')}.db`);
  now = start;
  process.on('unhandledRejection', onRejection);
});
afterEach(async () => {
  process.off('unhandledRejection', onRejection);
  rejections.length = 0;
  await holder?.stop();
  holder = undefined;
  for (const suffix of ['', '-wal', '-shm']) await rm(`${path}${suffix}`, { force: true });
});

function managerOn(store: StorageAdapter, extra: Partial<ConnectionManagerOptions> = {}) {
  return new ConnectionManager({
    integrations,
    store,
    clock: () => now,
    logger: captureLogs().logger,
    requireEncryption: false,
    ...extra,
  });
}

/** The store, counting the successful writes of `last_fetched_at` (every other field unchanged). */
function countingFetchedWrites(store: StorageAdapter): { store: StorageAdapter; writes: string[] } {
  const writes: string[] = [];
  return {
    writes,
    store: {
      ...store,
      async replace(key, expected, next, options) {
        const written = await store.replace(key, expected, next, options);
        const fetched = (text: string | undefined) => (text ?? '').match(/"last_fetched_at":("[^"]*"|null)/)?.[1];
        const stamped = fetched(next)?.startsWith('"') === true && fetched(expected) !== fetched(next);
        if (written && key.startsWith('connection:') && stamped) writes.push(key);
        return written;
      },
    },
  };
}

/** What the file holds for each connection, read straight from the store. */
async function storedRecords(
  connectionIds: string[],
): Promise<Array<{ sealed?: string; last_fetched_at: string | null } | undefined>> {
  const store = sqliteStore(path);
  const records = [];
  for (const id of connectionIds) {
    const raw = await store.get(`connection:keys:${id}`);
    records.push(raw === undefined ? undefined : JSON.parse(raw));
  }
  await store.close();
  return records as Array<{ sealed?: string; last_fetched_at: string | null } | undefined>;
}

async function storedFetchedAt(connectionIds: string[]): Promise<Array<string | null | undefined>> {
  return (await storedRecords(connectionIds)).map((record) => record?.last_fetched_at);
}

async function createAll(manager: ConnectionManager, ids: string[]) {
  for (const id of ids) {
    await manager.create({ connectionId: id, providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: id } });
  }
}

it('writes last_fetched_at once per connection per interval, coalescing gets, and all of it by close()', async () => {
  const ids = Array.from({ length: 12 }, (_, i) => `c${i}`);
  const counted = countingFetchedWrites(sqliteStore(path));
  const manager = managerOn(counted.store);
  await createAll(manager, ids);
  const firstGet = now;
  for (let round = 0; round < 3; round++) {
    for (const id of ids) expect((await manager.get(id)).last_fetched_at).toBe(new Date(now).toISOString());
    now += 10_000;
  }
  await manager.close();
  // 36 gets within one minute: one write per connection, holding the time of its first get.
  expect(counted.writes.sort()).toEqual(ids.map((id) => `connection:keys:${id}`).sort());
  expect(await storedFetchedAt(ids)).toEqual(ids.map(() => new Date(firstGet).toISOString()));
  expect(rejections).toEqual([]);
});

it('logs a write the store refuses (SQLite held by another process), throws nothing, and changes nothing', async () => {
  const ids = ['a', 'b', 'c'];
  const setup = managerOn(sqliteStore(path));
  await createAll(setup, ids);
  await setup.close();

  const logs = captureLogs();
  const warnings: string[] = [];
  const manager = managerOn(sqliteStore({ path, busyTimeoutMs: 20 }), {
    lastFetchedWriteIntervalMs: 100,
    logger: {
      error: logs.logger.error,
      warn(message, fields) {
        warnings.push(message);
        logs.logger.warn(message, fields);
        // A logger that throws must not turn the background write into an unhandled rejection.
        throw new Error('logger broke');
      },
    },
  });
  holder = await startSqliteHolder(path);
  await holder.hold();
  // Readers still read while another process holds the write lock: every get answers.
  for (const id of ids) expect((await manager.get(id)).credentials).toMatchObject({ apiKey: id });
  // The timer's flush meets SQLITE_BUSY for each write: logged, not thrown.
  await vi.waitFor(() => expect(warnings.length).toBe(ids.length), { timeout: 5_000 });
  expect(logs.lines.every((line) => line.includes('could not persist last_fetched_at'))).toBe(true);
  expect(logs.lines.join('\n')).not.toContain('apiKey');
  await holder.release();
  await manager.close();
  expect(rejections).toEqual([]);
  expect(await storedFetchedAt(ids)).toEqual([null, null, null]);
});

it('applies a queued write on top of a key rotation: never puts back a record sealed under the old key', async () => {
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  const ids = Array.from({ length: 8 }, (_, i) => `r${i}`);
  const before = managerOn(sqliteStore(path), { encryptionKey: oldKey });
  await createAll(before, ids);
  await before.close();

  const counted = countingFetchedWrites(sqliteStore(path));
  const rotating = managerOn(counted.store, { encryptionKey: [newKey, oldKey] });
  // Each get reads the record sealed under the old key and queues its last_fetched_at...
  for (const id of ids) await rotating.get(id);
  // ...then the rotation rewrites every record under the new key before the queue is written.
  const report = await rotating.rotateEncryptionKey();
  expect(report.rewritten).toBe(ids.length);
  await rotating.close();
  expect(counted.writes).toHaveLength(ids.length);

  const newKeyId = new RecordCipher(newKey).currentKeyId;
  for (const stored of await storedRecords(ids)) {
    expect(RecordCipher.keyIdOf(stored?.sealed as string)).toBe(newKeyId);
    expect(stored?.last_fetched_at).toBe(new Date(start).toISOString());
  }
  const after = managerOn(sqliteStore(path), { encryptionKey: newKey });
  for (const id of ids) expect((await after.get(id)).credentials).toMatchObject({ apiKey: id });
  await after.close();
  expect(rejections).toEqual([]);
});

it('writes nothing after close(), and a connection deleted before the flush is not recreated', async () => {
  const counted = countingFetchedWrites(sqliteStore(path));
  const manager = managerOn(counted.store);
  await createAll(manager, ['kept', 'gone']);
  await manager.get('kept');
  await manager.get('gone');
  await manager.delete('gone');
  await manager.close();
  expect(counted.writes).toEqual(['connection:keys:kept']);
  expect(await storedFetchedAt(['kept', 'gone'])).toEqual([new Date(start).toISOString(), undefined]);
  expect(rejections).toEqual([]);
});

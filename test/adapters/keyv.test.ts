import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyvStore } from '../../adapters/keyv.js';
import { StorageError } from '../../src/index.js';
import { storageConformance } from '../../src/testing/index.js';
import { testManager } from '../support/manager.js';
import { freshPrefix, redisAvailable, useRedis } from '../support/redis.js';

let directory: string;
let files = 0;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'latchkey-keyv-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** A Keyv on its own SQLite file, as a separate process would open it. */
const sqliteKeyv = (path: string) => new Keyv({ store: new KeyvSqlite(`sqlite://${path}`), namespace: 'latchkey' });

// "Opening again" shares the Keyv instance: the adapter's guarantees hold within one process
// (see the cases below for two processes on one backend).
storageConformance({ describe, it, beforeAll, afterAll }, 'keyv over a Map', async () => {
  const keyv = new Keyv();
  const store = keyvStore(keyv);
  return { store, openAgain: () => keyvStore(keyv), cleanup: () => store.close() };
});

storageConformance({ describe, it, beforeAll, afterAll }, 'keyv over @keyv/sqlite', async () => {
  const keyv = sqliteKeyv(join(directory, `store-${++files}.db`));
  const store = keyvStore(keyv);
  return {
    store,
    openAgain: () => keyvStore(keyv),
    cleanup: async () => {
      await store.close();
      await keyv.disconnect();
    },
  };
});

if (redisAvailable()) {
  const url = useRedis();
  storageConformance({ describe, it, beforeAll, afterAll }, 'keyv over @keyv/redis', async () => {
    const keyv = new Keyv({ store: new KeyvRedis(url()), namespace: freshPrefix('keyv') });
    const store = keyvStore(keyv);
    return {
      store,
      openAgain: () => keyvStore(keyv),
      cleanup: async () => {
        await store.close();
        await keyv.disconnect();
      },
    };
  });
}

describe('keyv adapter', () => {
  const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };
  const apiKey = (connectionId: string) => ({
    connectionId,
    providerConfigKey: 'keys',
    credentials: { type: 'API_KEY' as const, apiKey: `key-${connectionId}` },
  });

  it('keeps connections, their index and the id counter in the backend across reopening', async () => {
    const path = join(directory, 'persist.db');
    const writerKeyv = sqliteKeyv(path);
    const writer = testManager({ store: keyvStore(writerKeyv), integrations });
    await writer.create(apiKey('first'));
    await writer.create(apiKey('second'));
    await writer.close();
    await writerKeyv.disconnect();

    const readerKeyv = sqliteKeyv(path);
    const reader = testManager({ store: keyvStore(readerKeyv), integrations });
    expect((await reader.get('first')).credentials).toEqual({ type: 'API_KEY', apiKey: 'key-first' });
    expect((await reader.list({ search: 'sec' })).connections.map((c) => c.connection_id)).toEqual(['second']);
    const third = await reader.create(apiKey('third'));
    const ids = (await reader.list()).connections.map((c) => c.id);
    expect(new Set(ids).size).toBe(3);
    expect(third.id).toBe(Math.max(...ids));
    await reader.close();
    await readerKeyv.disconnect();
  });

  it('two processes on one backend: the second refuses to open while the first holds it, and may take over after', async () => {
    const path = join(directory, 'two-processes.db');
    // Two Keyv instances on one file: what two processes would have.
    const firstKeyv = sqliteKeyv(path);
    const secondKeyv = sqliteKeyv(path);
    const first = keyvStore(firstKeyv);
    expect(await first.insert('k', 'v1')).toBe(true);

    const second = keyvStore(secondKeyv);
    const refused = await second.get('k').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as StorageError).message).toMatch(/another process/);
    // Nothing the second one did reached the backend, and the first goes on as before.
    expect(await second.insert('other', 'x').catch(() => 'refused')).toBe('refused');
    expect(await first.replace('k', 'v1', 'v2')).toBe(true);
    await second.close();

    // Once the first closes (its claim released), a new store on the second Keyv opens and sees its data.
    await first.close();
    const successor = keyvStore(secondKeyv);
    expect(await successor.get('k')).toBe('v2');
    expect(await successor.get('other')).toBeUndefined();
    await successor.close();
    await firstKeyv.disconnect();
    await secondKeyv.disconnect();
  });

  it('a process whose claim another took over fails every later call instead of writing beside it', async () => {
    const path = join(directory, 'taken-over.db');
    const firstKeyv = sqliteKeyv(path);
    const intruderKeyv = sqliteKeyv(path);
    const errors: unknown[] = [];
    const first = keyvStore(firstKeyv, { claimMs: 150 });
    first.onError?.((error) => errors.push(error));
    expect(await first.insert('k', 'v1')).toBe(true);
    // Another process overwrites the claim (as one started in the same instant might).
    await intruderKeyv.set('latchkey-claim', { owner: 'someone-else', until: Date.now() + 60_000 }, 60_000);

    const deadline = Date.now() + 5000;
    while (errors.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(errors[0]).toBeInstanceOf(StorageError);
    const failed = await first.replace('k', 'v1', 'v2').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failed).toBeInstanceOf(StorageError);
    expect((failed as StorageError).message).toMatch(/took over/);
    expect(await intruderKeyv.get('v:k')).toMatchObject({ v: 'v1' });
    await first.close();
    await firstKeyv.disconnect();
    await intruderKeyv.disconnect();
  });

  it('refuses a Keyv store it cannot iterate, with a typed error', async () => {
    const opaque = new Keyv({
      store: {
        get: async () => undefined,
        set: async () => true,
        delete: async () => true,
        clear: async () => {},
        on: () => {},
      } as never,
    });
    const store = keyvStore(opaque);
    const error = await store.get('k').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).message).toMatch(/iterate/);
    await store.close();
  });

  it('reports a write Keyv could not make as a failure, not as success', async () => {
    const keyv = new Keyv();
    const store = keyvStore(keyv);
    expect(await store.insert('a', '1')).toBe(true);
    // The backend starts failing writes (Keyv answers `false` and emits the error).
    const backend = keyv.store as Map<string, unknown>;
    const set = backend.set.bind(backend);
    backend.set = () => {
      throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    };
    const error = await store.insert('b', '2').then(
      () => undefined,
      (e: unknown) => e,
    );
    backend.set = set;
    expect(error).toBeInstanceOf(Error);
    // Nothing changed: the failed insert left no trace in the adapter's view.
    expect(await store.get('b')).toBeUndefined();
    expect(await store.insert('b', '2')).toBe(true);
    await store.close();
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/index.js';
import { openStore, storeTypeOf } from '../../src/store/from-url.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'latchkey-url-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidRequestError);
  return error as InvalidRequestError;
};

describe('openStore', () => {
  it('opens each adapter by its schemes, aliases included', () => {
    expect(storeTypeOf('memory')).toBe('memory');
    expect(storeTypeOf('memory:')).toBe('memory');
    expect(storeTypeOf('sqlite:data.db')).toBe('sqlite');
    expect(storeTypeOf('postgres://u:p@db/latchkey')).toBe('postgres');
    expect(storeTypeOf('postgresql://u:p@db/latchkey')).toBe('postgres');
    expect(storeTypeOf('redis://localhost:6379')).toBe('redis');
    expect(storeTypeOf('rediss://localhost:6380')).toBe('redis');
    expect(storeTypeOf('REDIS://localhost')).toBe('redis');
  });

  it('opens a working memory store', async () => {
    const store = await openStore('memory:');
    expect(store.name).toBe('memory');
    expect(await store.insert('k', 'v')).toBe(true);
    expect(await store.get('k')).toBe('v');
    await store.close();
  });

  it('opens SQLite on a relative path from baseDirectory, and on sqlite:///absolute paths', async () => {
    const relative = await openStore('sqlite:relative.db', { baseDirectory: directory });
    expect(await relative.insert('k', 'relative')).toBe(true);
    await relative.close();
    const absolute = await openStore(`sqlite://${join(directory, 'relative.db')}`);
    expect(absolute.name).toBe('sqlite');
    expect(await absolute.get('k')).toBe('relative');
    await absolute.close();
    const inMemory = await openStore('sqlite::memory:', { settings: { table: 'other' } });
    expect(await inMemory.insert('k', 'v')).toBe(true);
    await inMemory.close();
  });

  it('opens Postgres and Redis stores lazily: no connection until first use', async () => {
    const postgres = await openStore('postgresql://user:secret@127.0.0.1:1/none', { settings: { maxConnections: 2 } });
    expect(postgres.name).toBe('postgres');
    await postgres.close();
    const redis = await openStore('rediss://:secret@127.0.0.1:1', { settings: { prefix: 'app:' } });
    expect(redis.name).toBe('redis');
    await redis.close();
  });

  it('refuses an unknown scheme on the field store, listing the schemes, never echoing the URL', async () => {
    const error = await refusal(openStore('mysql://root:hunter2@db/latchkey'));
    expect(error.field).toBe('store');
    for (const scheme of ['memory:', 'sqlite:', 'postgres:', 'postgresql:', 'redis:', 'rediss:']) {
      expect(error.message).toContain(scheme);
    }
    expect(error.message).not.toContain('hunter2');
    expect((await refusal(openStore(''))).field).toBe('store');
    expect((await refusal(openStore('not a url'))).field).toBe('store');
  });

  it('refuses a setting the adapter does not take, or of the wrong type, naming it', async () => {
    expect((await refusal(openStore('memory:', { settings: { table: 'x' } }))).field).toBe('store.table');
    expect((await refusal(openStore('sqlite::memory:', { settings: { busyTimeoutMs: 'soon' } }))).field).toBe(
      'store.busyTimeoutMs',
    );
    expect((await refusal(openStore('redis://127.0.0.1:1', { settings: { prefix: 3 } }))).field).toBe('store.prefix');
    expect((await refusal(openStore('sqlite:'))).field).toBe('store');
  });
});

describe('the CLI configuration', () => {
  it('takes any scheme an adapter opens (redis:// included), and refuses another on the field store', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { ConfigError, loadConfig } = await import('../../src/cli/config.js');
    const path = join(directory, 'latchkey.config.json');
    const rest = { apiKeys: [{ key: 'config-test-key-0123456789' }], requireEncryption: false };
    await writeFile(path, JSON.stringify({ ...rest, store: 'redis://:pw@127.0.0.1:6379/2' }));
    expect((await loadConfig(path, {})).store).toEqual({ type: 'redis', url: 'redis://:pw@127.0.0.1:6379/2' });
    await writeFile(path, JSON.stringify({ ...rest, store: 'rediss://127.0.0.1:6380' }));
    expect((await loadConfig(path, {})).store).toMatchObject({ type: 'redis' });
    const refused = await loadConfig(path, { LATCHKEY_STORE: 'mongodb://user:pw@db/x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ConfigError);
    expect((refused as InstanceType<typeof ConfigError>).field).toBe('store');
    expect((refused as Error).message).toContain('redis:');
    expect((refused as Error).message).not.toContain('pw@');
  });
});

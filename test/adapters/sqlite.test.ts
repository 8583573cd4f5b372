import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../adapters/sqlite.js';
import { testManager } from '../support/manager.js';
import { storageConformance } from '../../src/testing/index.js';

let directory: string;
let files = 0;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'latchkey-sqlite-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

storageConformance({ describe, it, beforeAll, afterAll }, 'sqlite', async () => {
  const path = join(directory, `store-${++files}.db`);
  const store = sqliteStore(path);
  return { store, openAgain: () => sqliteStore(path), cleanup: () => store.close() };
});

describe('sqlite adapter', () => {
  it('keeps connections in the file across reopening', async () => {
    const path = join(directory, 'persist.db');
    const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };
    const writer = testManager({ store: sqliteStore(path), integrations });
    await writer.create({
      connectionId: 'persisted',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'k-1' },
    });
    await writer.close();
    const reader = testManager({ store: sqliteStore({ path, table: 'latchkey' }), integrations });
    expect((await reader.get('persisted')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
    await reader.close();
  });
});

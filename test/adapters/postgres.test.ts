import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore } from '../../adapters/postgres.js';
import { testManager } from '../support/manager.js';
import { type RunningPostgres, startPostgres } from '../support/postgres.js';
import { storageConformance } from '../../src/testing/index.js';

let postgres: RunningPostgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

storageConformance({ describe, it, beforeAll, afterAll }, 'postgres', async () => {
  const uri = await postgres.createDatabase();
  const store = postgresStore(uri);
  return { store, openAgain: () => postgresStore(uri), cleanup: () => store.close() };
});

describe('postgres adapter', () => {
  it('keeps connections in the database across reopening, in the table it was given', async () => {
    const uri = await postgres.createDatabase();
    const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };
    const writer = testManager({ store: postgresStore({ uri, table: 'creds' }), integrations });
    await writer.create({
      connectionId: 'persisted',
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY', apiKey: 'k-1' },
    });
    await writer.close();
    const reader = testManager({ store: postgresStore({ uri, table: 'creds' }), integrations });
    expect((await reader.get('persisted')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
    await reader.close();
  });
});

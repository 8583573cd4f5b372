import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../adapters/memory.js';
import { ConnectionManager } from '../../src/index.js';
import { testManagerOptions } from '../support/manager.js';

async function managerWith(ids: string[]): Promise<ConnectionManager> {
  const manager = new ConnectionManager(
    testManagerOptions({
      store: memoryStore(),
      integrations: { keys: { provider: 'any', definition: { authMode: 'API_KEY' } } },
    }),
  );
  for (const connectionId of ids) {
    await manager.create({ connectionId, providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k' } });
  }
  return manager;
}

describe('manager.list order', () => {
  it('is creation order by default and newest first when asked, each paged by its own cursor', async () => {
    const manager = await managerWith(['a', 'b', 'c', 'd', 'e']);
    const ids = (page: { connections: Array<{ connection_id: string }> }) =>
      page.connections.map((c) => c.connection_id);
    expect(ids(await manager.list())).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(ids(await manager.list({ order: 'newest' }))).toEqual(['e', 'd', 'c', 'b', 'a']);
    const first = await manager.list({ order: 'newest', limit: 2 });
    expect(ids(first)).toEqual(['e', 'd']);
    const second = await manager.list({ order: 'newest', limit: 2, cursor: first.nextCursor });
    expect(ids(second)).toEqual(['c', 'b']);
    const last = await manager.list({ order: 'newest', limit: 2, cursor: second.nextCursor });
    expect(ids(last)).toEqual(['a']);
    expect(last.nextCursor).toBeUndefined();
    await manager.close();
  });

  it('refuses a cursor made in the other order, and an order it does not know, naming the field', async () => {
    const manager = await managerWith(['a', 'b', 'c']);
    const newest = await manager.list({ order: 'newest', limit: 1 });
    await expect(manager.list({ limit: 1, cursor: newest.nextCursor })).rejects.toMatchObject({
      code: 'invalid_request',
      field: 'cursor',
    });
    await expect(manager.list({ order: 'sideways' as never })).rejects.toMatchObject({ field: 'order' });
    await manager.close();
  });
});

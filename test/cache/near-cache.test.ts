import { afterEach, describe, expect, it } from 'vitest';
import { keyvStore } from '../../adapters/keyv.js';
import { memoryStore } from '../../adapters/memory.js';
import { ConnectionManager, InvalidRequestError, type OAuth2Credentials } from '../../src/index.js';
import type { StorageAdapter, StoreChange } from '../../src/store/adapter.js';
import { testClock, testManagerOptions } from '../support/manager.js';
import { startTokenServer, type TokenServer } from '../support/token-server.js';
import Keyv from 'keyv';

const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };

/** A memory store whose reads are counted and whose change channel the test drives by hand. */
function drivenStore(base: StorageAdapter = memoryStore()) {
  const counts = { get: 0 };
  let listener: ((change: StoreChange) => void) | undefined;
  /** The channel's state, told to a watch when it starts (the cache starts watching on its first get). */
  let up = false;
  let gate: Promise<void> | undefined;
  const store: StorageAdapter = {
    ...base,
    locks: base.locks,
    async get(key) {
      counts.get++;
      const value = await base.get(key);
      await gate;
      return value;
    },
    watch(l) {
      listener = l;
      if (up) l({ type: 'up' });
      return async () => {
        listener = undefined;
      };
    },
  };
  return {
    store,
    counts,
    tell: (change: StoreChange) => {
      if (change.type !== 'changed') up = change.type === 'up';
      listener?.(change);
    },
    /** Holds reads after they read the store, until the returned function is called. */
    holdReads() {
      let release!: () => void;
      gate = new Promise((resolve) => (release = resolve));
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

const managers: ConnectionManager[] = [];
function manager(options: ConstructorParameters<typeof ConnectionManager>[0]) {
  const made = new ConnectionManager(testManagerOptions({ integrations, ...options }));
  managers.push(made);
  return made;
}
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

const apiKey = async (m: ConnectionManager, id = 'c1', providerConfigKey = 'keys') =>
  ((await m.get(id, { providerConfigKey })).credentials as { apiKey: string }).apiKey;

describe('near cache: options', () => {
  it('is refused with a typed error naming nearCache on a store that cannot report changes', () => {
    const create = () => manager({ store: keyvStore(new Keyv()), nearCache: true });
    expect(create).toThrow(InvalidRequestError);
    expect(create).toThrow(expect.objectContaining({ field: 'nearCache' }));
  });

  it('checks its settings by schema', () => {
    expect(() => manager({ nearCache: { maxBytes: -1 } })).toThrow(
      expect.objectContaining({ code: 'invalid_request', field: 'nearCache.maxBytes' }),
    );
    expect(() => manager({ nearCache: { size: 1 } as never })).toThrow(InvalidRequestError);
  });
});

describe('near cache on one process', () => {
  it('serves repeated gets from memory once the channel is up, and each get gets its own copy', async () => {
    const { store, counts, tell } = drivenStore();
    const m = manager({ store, nearCache: true });
    await m.create({ connectionId: 'c1', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k1' } });
    tell({ type: 'up' });
    const first = await m.get('c1', { providerConfigKey: 'keys' });
    const readsAfterFirst = counts.get;
    const second = await m.get('c1', { providerConfigKey: 'keys' });
    expect(counts.get).toBe(readsAfterFirst);
    expect(second.credentials).toEqual({ type: 'API_KEY', apiKey: 'k1' });
    (first.metadata as Record<string, unknown>).changed = true;
    (first.tags as Record<string, string>).changed = 'yes';
    const third = await m.get('c1', { providerConfigKey: 'keys' });
    expect(third.metadata).toEqual({});
    expect(third.tags).toEqual({});
  });

  it('reads the store on every get before the channel is up and after it drops, and starts empty when back', async () => {
    const { store, counts, tell } = drivenStore();
    const m = manager({ store, nearCache: true });
    await m.create({ connectionId: 'c1', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k1' } });
    const before = counts.get;
    await apiKey(m);
    await apiKey(m);
    expect(counts.get).toBe(before + 2);
    tell({ type: 'up' });
    await apiKey(m);
    await apiKey(m);
    expect(counts.get).toBe(before + 3);
    tell({ type: 'down' });
    // A write this cache is not told about (the channel is down): the next get must see it.
    await store.replace(
      'connection:keys:c1',
      (await store.get('connection:keys:c1'))!,
      (await store.get('connection:keys:c1'))!.replace('"k1"', '"k2"'),
    );
    const reads = counts.get;
    expect(await apiKey(m)).toBe('k2');
    expect(await apiKey(m)).toBe('k2');
    expect(counts.get).toBe(reads + 2);
    tell({ type: 'up' });
    expect(await apiKey(m)).toBe('k2');
    expect(await apiKey(m)).toBe('k2');
    expect(counts.get).toBe(reads + 3);
  });

  it('drops an entry when the store reports its key changed, and everything on a change without a key', async () => {
    const { store, counts, tell } = drivenStore();
    const m = manager({ store, nearCache: true });
    for (const id of ['c1', 'c2']) {
      await m.create({ connectionId: id, providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: id } });
    }
    tell({ type: 'up' });
    await apiKey(m, 'c1');
    await apiKey(m, 'c2');
    const reads = counts.get;
    tell({ type: 'changed', key: 'connection:keys:c1' });
    await apiKey(m, 'c1');
    await apiKey(m, 'c2');
    expect(counts.get).toBe(reads + 1);
    tell({ type: 'changed' });
    await apiKey(m, 'c1');
    await apiKey(m, 'c2');
    expect(counts.get).toBe(reads + 3);
  });

  it('never caches a read that a change overtook', async () => {
    const { store, counts, tell, holdReads } = drivenStore();
    const m = manager({ store, nearCache: true });
    await m.create({ connectionId: 'c1', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k1' } });
    tell({ type: 'up' });
    const release = holdReads();
    const inFlight = apiKey(m);
    // The read has the old text; the change is reported before it returns.
    while (counts.get === 0) await new Promise((resolve) => setImmediate(resolve));
    tell({ type: 'changed', key: 'connection:keys:c1' });
    release();
    expect(await inFlight).toBe('k1');
    const reads = counts.get;
    await apiKey(m);
    expect(counts.get).toBe(reads + 1);
  });

  it("drops what this process writes as the write returns, without waiting for the store's report", async () => {
    const { store, tell } = drivenStore();
    const m = manager({ store, nearCache: true });
    await m.create({ connectionId: 'c1', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k1' } });
    tell({ type: 'up' });
    expect(await apiKey(m)).toBe('k1');
    await m.updateMetadata({ connectionId: 'c1', providerConfigKey: 'keys' }, { seen: true });
    await m.upsert({ connectionId: 'c1', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k2' } });
    expect(await apiKey(m)).toBe('k2');
    await m.delete({ connectionId: 'c1', providerConfigKey: 'keys' });
    await expect(m.get('c1', { providerConfigKey: 'keys' })).rejects.toMatchObject({ code: 'unknown_connection' });
  });

  it('holds at most maxBytes, least recently used dropped first', async () => {
    const { store, counts, tell } = drivenStore();
    const m = manager({ store, nearCache: { maxBytes: 2_500 } });
    for (const id of ['c1', 'c2', 'c3']) {
      await m.create({ connectionId: id, providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: id } });
    }
    tell({ type: 'up' });
    for (const id of ['c1', 'c2', 'c3']) await apiKey(m, id);
    const reads = counts.get;
    await apiKey(m, 'c3');
    expect(counts.get).toBe(reads);
    await apiKey(m, 'c1');
    expect(counts.get).toBe(reads + 1);
  });

  it('works on the memory store, whose channel is always up', async () => {
    const base = memoryStore();
    const a = manager({ store: base, nearCache: true });
    const b = manager({ store: base, nearCache: true });
    await a.create({ connectionId: 'c1', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k1' } });
    expect(await apiKey(b)).toBe('k1');
    expect(await apiKey(b)).toBe('k1');
    await a.upsert({ connectionId: 'c1', providerConfigKey: 'keys', credentials: { type: 'API_KEY', apiKey: 'k2' } });
    expect(await apiKey(b)).toBe('k2');
  });
});

describe('near cache and refresh', () => {
  let server: TokenServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('sends a cached token inside the refresh margin, and a forced refresh, to the store and the provider', async () => {
    server = await startTokenServer();
    const clock = testClock();
    const { store, counts, tell } = drivenStore();
    const m = manager({
      store,
      clock,
      nearCache: true,
      refreshMarginSeconds: 60,
      integrations: {
        crm: {
          provider: 'crm',
          clientId: server.clientId,
          clientSecret: server.clientSecret,
          definition: { authMode: 'OAUTH2', tokenUrl: server.url },
        },
      },
    });
    await m.create({
      connectionId: 'c1',
      providerConfigKey: 'crm',
      credentials: {
        type: 'OAUTH2',
        access_token: 'first',
        refresh_token: 'r0',
        expires_at: new Date(clock.now() + 3600_000).toISOString(),
      },
    });
    tell({ type: 'up' });
    const token = async (options: { forceRefresh?: boolean } = {}) =>
      ((await m.get('c1', { providerConfigKey: 'crm', ...options })).credentials as OAuth2Credentials).access_token;
    expect(await token()).toBe('first');
    const reads = counts.get;
    expect(await token()).toBe('first');
    expect(counts.get).toBe(reads);

    clock.advance(3600_000 - 30_000);
    expect(await token()).toBe('access-1');
    expect(counts.get).toBeGreaterThan(reads);
    expect(server.requests.length).toBe(1);

    const beforeForced = counts.get;
    expect(await token({ forceRefresh: true })).toBe('access-2');
    expect(counts.get).toBeGreaterThan(beforeForced);
    expect(await token()).toBe('access-2');
  });
});

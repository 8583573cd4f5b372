import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAuthorizationServer,
  startAuthorizationServer,
} from '../../examples/support/authorization-server.js';
import {
  AmbiguousConnectionError,
  type ConnectionManager,
  type ConnectionManagerOptions,
  DuplicateConnectionError,
  InvalidRequestError,
  type StorageAdapter,
  UnknownConnectionError,
} from '../../src/index.js';
import { testManager } from '../support/manager.js';

export interface StorageUnderTest {
  /** A fresh, empty store. */
  store: StorageAdapter;
  /** Another store over the same data through its own connection (another process, in effect). */
  openAgain(): StorageAdapter;
  cleanup?(): Promise<void>;
}

/**
 * The contract every storage adapter must meet, run by each adapter's test file — keyv's
 * `@keyv/test-suite` idea: one suite, a dozen lines per backend.
 */
export function storageConformanceSuite(name: string, open: () => Promise<StorageUnderTest>): void {
  describe(`${name} storage adapter conformance`, () => {
    let server: LocalAuthorizationServer;
    const opened: StorageUnderTest[] = [];

    beforeAll(async () => {
      server = await startAuthorizationServer();
    });
    afterAll(async () => {
      for (const backend of opened) await backend.cleanup?.();
      await server.close();
    });

    async function backend(): Promise<StorageUnderTest> {
      const result = await open();
      opened.push(result);
      return result;
    }

    function manager(store: StorageAdapter, options: Partial<ConnectionManagerOptions> = {}): ConnectionManager {
      return testManager({
        store,
        integrations: {
          local: {
            provider: 'local-idp',
            clientId: server.basicClient.clientId,
            clientSecret: server.basicClient.clientSecret,
            definition: {
              authMode: 'OAUTH2',
              tokenUrl: server.tokenUrl,
              tokenRequestAuthMethod: 'client_secret_basic',
            },
          },
          'api-key': { provider: 'any-api', definition: { authMode: 'API_KEY' } },
          'basic-auth': { provider: 'any-basic', definition: { authMode: 'BASIC' } },
        },
        ...options,
      });
    }

    describe('compare-and-swap', () => {
      it('inserts only when absent, replaces only the expected version, deletes only the expected version', async () => {
        const { store } = await backend();
        expect(await store.compareAndSwap('k', undefined, 'v1')).toBe(true);
        expect(await store.compareAndSwap('k', undefined, 'other')).toBe(false);
        expect(await store.compareAndSwap('k', 'stale', 'v2')).toBe(false);
        expect(await store.readRaw('k')).toBe('v1');
        expect(await store.compareAndSwap('k', 'v1', 'v2')).toBe(true);
        expect(await store.compareAndDelete('k', 'v1')).toBe(false);
        expect(await store.compareAndDelete('k', 'v2')).toBe(true);
        expect(await store.readRaw('k')).toBeUndefined();
      });

      it('lets exactly one of many concurrent writers of the same version win', async () => {
        const { store, openAgain } = await backend();
        const other = openAgain();
        await store.compareAndSwap('race', undefined, 'v0');
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).compareAndSwap('race', 'v0', `writer-${i}`)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        const winner = results.indexOf(true);
        expect(await store.readRaw('race')).toBe(`writer-${winner}`);
        await other.close();
      });
    });

    describe('locks', () => {
      it('has one owner at a time; only the owner releases it', async () => {
        const { store, openAgain } = await backend();
        const other = openAgain();
        expect(await store.locks.tryAcquire('lock-a', 'owner-1', 10_000)).toBe(true);
        expect(await other.locks.tryAcquire('lock-a', 'owner-2', 10_000)).toBe(false);
        expect(await other.locks.release('lock-a', 'owner-2')).toBe(false);
        expect(await store.locks.release('lock-a', 'owner-1')).toBe(true);
        expect(await other.locks.tryAcquire('lock-a', 'owner-2', 10_000)).toBe(true);
        await other.close();
      });

      it('lets a lapsed lease be taken, and the lapsed holder cannot release the new owner’s lock', async () => {
        const { store, openAgain } = await backend();
        const other = openAgain();
        expect(await store.locks.tryAcquire('lock-b', 'slow-holder', 50)).toBe(true);
        await sleep(120);
        expect(await other.locks.tryAcquire('lock-b', 'next-holder', 10_000)).toBe(true);
        expect(await store.locks.release('lock-b', 'slow-holder')).toBe(false);
        expect(await store.locks.tryAcquire('lock-b', 'third', 10_000)).toBe(false);
        await other.close();
      });
    });

    describe('connections', () => {
      it('creates, gets, lists and deletes', async () => {
        const { store } = await backend();
        const m = manager(store);
        const created = await m.create({
          connectionId: 'user:1/ä',
          providerConfigKey: 'api-key',
          credentials: { type: 'API_KEY', apiKey: 'key-1' },
          metadata: { plan: 'pro' },
          tags: { Env: 'prod' },
        });
        expect(created.id).toEqual(expect.any(Number));
        const fetched = await m.get('user:1/ä');
        expect(fetched).toMatchObject({
          id: created.id,
          connection_id: 'user:1/ä',
          provider_config_key: 'api-key',
          provider: 'any-api',
          credentials: { type: 'API_KEY', apiKey: 'key-1' },
          metadata: { plan: 'pro' },
          tags: { env: 'prod' },
        });
        const listed = await m.list();
        expect(listed.connections).toHaveLength(1);
        expect(listed.connections[0]).not.toHaveProperty('credentials');
        await m.delete('user:1/ä');
        await expect(m.get('user:1/ä')).rejects.toBeInstanceOf(UnknownConnectionError);
        expect((await m.list()).connections).toEqual([]);
      });

      it('gives each connection a distinct integer id', async () => {
        const { store } = await backend();
        const m = manager(store);
        const ids = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            m.create({
              connectionId: `c${i}`,
              providerConfigKey: 'api-key',
              credentials: { type: 'API_KEY', apiKey: 'k' },
            }),
          ),
        );
        expect(new Set(ids.map((c) => c.id)).size).toBe(6);
        expect(ids.every((c) => Number.isInteger(c.id))).toBe(true);
      });

      it('filters by connection id, integration and tags', async () => {
        const { store } = await backend();
        const m = manager(store);
        await m.create({
          connectionId: 'a',
          providerConfigKey: 'api-key',
          credentials: { type: 'API_KEY', apiKey: 'k' },
          tags: { team: 'x' },
        });
        await m.create({
          connectionId: 'a',
          providerConfigKey: 'basic-auth',
          credentials: { type: 'BASIC', username: 'u', password: 'p' },
          tags: { team: 'y' },
        });
        await m.create({
          connectionId: 'b',
          providerConfigKey: 'api-key',
          credentials: { type: 'API_KEY', apiKey: 'k' },
          tags: { team: 'y' },
        });
        const ids = (list: Awaited<ReturnType<typeof m.list>>) =>
          list.connections.map((c) => `${c.provider_config_key}/${c.connection_id}`);
        expect(ids(await m.list({ connectionId: 'a' }))).toEqual(['api-key/a', 'basic-auth/a']);
        expect(ids(await m.list({ providerConfigKey: 'api-key' }))).toEqual(['api-key/a', 'api-key/b']);
        expect(ids(await m.list({ tags: { TEAM: 'y' } }))).toEqual(['basic-auth/a', 'api-key/b']);
        expect(ids(await m.list({ connectionId: 'a', tags: { team: 'x' } }))).toEqual(['api-key/a']);
        await expect(m.get('a')).rejects.toBeInstanceOf(AmbiguousConnectionError);
        expect((await m.get('a', { providerConfigKey: 'basic-auth' })).credentials).toEqual({
          type: 'BASIC',
          username: 'u',
          password: 'p',
        });
      });

      it('replaces and merges metadata, sets tags, merges connection config', async () => {
        const { store } = await backend();
        const m = manager(store);
        await m.create({
          connectionId: 'meta',
          providerConfigKey: 'api-key',
          credentials: { type: 'API_KEY', apiKey: 'k' },
          metadata: { a: 1, b: 2 },
        });
        await m.updateMetadata('meta', { b: 3, c: 4 });
        expect((await m.get('meta')).metadata).toEqual({ a: 1, b: 3, c: 4 });
        await m.setMetadata('meta', { only: true });
        expect((await m.get('meta')).metadata).toEqual({ only: true });
        await m.setTags({ connectionId: 'meta', providerConfigKey: 'api-key' }, { Region: 'eu', 'app.tier': 'gold' });
        expect((await m.get('meta')).tags).toEqual({ region: 'eu', 'app.tier': 'gold' });
        await expect(m.setTags('meta', { a: 'x', A: 'y' })).rejects.toBeInstanceOf(InvalidRequestError);
        expect((await m.get('meta')).tags).toEqual({ region: 'eu', 'app.tier': 'gold' });
        await m.updateConnectionConfig('meta', { subdomain: 'acme' });
        await m.updateConnectionConfig('meta', { region: 'eu' });
        expect((await m.get('meta')).connection_config).toEqual({ subdomain: 'acme', region: 'eu' });
      });

      it('refuses a duplicate create, and exactly one of two concurrent creates wins', async () => {
        const { store, openAgain } = await backend();
        const first = manager(store);
        const second = manager(openAgain());
        const input = (apiKey: string) => ({
          connectionId: 'dup',
          providerConfigKey: 'api-key',
          credentials: { type: 'API_KEY', apiKey },
        });
        const results = await Promise.allSettled([
          first.create(input('from-first')),
          second.create(input('from-second')),
        ]);
        const rejected = results.filter((r) => r.status === 'rejected');
        expect(rejected).toHaveLength(1);
        expect((rejected[0] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateConnectionError);
        const winner = results.findIndex((r) => r.status === 'fulfilled') === 0 ? 'from-first' : 'from-second';
        expect((await first.get('dup')).credentials).toEqual({ type: 'API_KEY', apiKey: winner });
        await expect(first.create(input('again'))).rejects.toBeInstanceOf(DuplicateConnectionError);
      });
    });

    describe('refresh lock', () => {
      it('two managers on separate connections refresh an expiring connection exactly once', async () => {
        const { store, openAgain } = await backend();
        const first = manager(store);
        const second = manager(openAgain());
        const { refreshToken } = await server.issueRefreshToken(server.basicClient.clientId);
        await first.create({
          connectionId: 'shared',
          providerConfigKey: 'local',
          credentials: {
            type: 'OAUTH2',
            access_token: 'old',
            refresh_token: refreshToken,
            expires_at: new Date(Date.now() - 1000).toISOString(),
          },
        });
        const before = server.tokenRequests();
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? second : first).get('shared')));
        expect(server.tokenRequests() - before).toBe(1);
        const tokens = new Set(results.map((r) => (r.credentials as { access_token: string }).access_token));
        expect(tokens.size).toBe(1);
        expect(tokens.has('old')).toBe(false);
        expect(server.grantErrors()).toEqual([]);
      });
    });
  });
}

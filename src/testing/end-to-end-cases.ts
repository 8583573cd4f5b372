import assert from 'node:assert/strict';
import { ConnectionManager } from '../manager.js';
import { AmbiguousConnectionError, DuplicateConnectionError, UnknownConnectionError } from '../model/errors.js';
import type { ConnectionManagerOptions } from '../operations/options.js';
import type { StorageAdapter } from '../store/adapter.js';
import { type RotatingTokenServer, startRotatingTokenServer } from './rotating-token-server.js';
import { openedBackends, type OpenStorage, type TestRunner } from './runner.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The storage contract as the manager relies on it: creating, finding, listing, paging and
 * deleting connections, creates that never fail for concurrency, and one refresh of a rotating
 * refresh token between two managers on two connections to the same data.
 */
export function endToEndCases(runner: TestRunner, name: string, openStorage: OpenStorage): void {
  const { describe, it } = runner;
  describe(`${name}: connection manager on this store`, () => {
    const open = openedBackends(runner, openStorage);
    let server: RotatingTokenServer;
    runner.beforeAll(async () => {
      server = await startRotatingTokenServer();
    });
    runner.afterAll(async () => {
      await server?.close();
    });

    const manager = (store: StorageAdapter, options: Partial<ConnectionManagerOptions> = {}) =>
      new ConnectionManager({
        store,
        logger: quiet,
        encryptionKey: Buffer.alloc(32, 7).toString('base64'),
        // The conformance token server speaks plain HTTP on 127.0.0.1.
        http: { allowInsecureLoopback: true },
        integrations: {
          rotating: {
            provider: 'conformance-idp',
            clientId: server.clientId,
            clientSecret: server.clientSecret,
            definition: {
              authMode: 'OAUTH2',
              tokenUrl: server.tokenUrl,
              tokenRequestAuthMethod: 'client_secret_basic',
            },
          },
          keys: { provider: 'any-api', definition: { authMode: 'API_KEY' } },
          basic: { provider: 'any-basic', definition: { authMode: 'BASIC' } },
        },
        ...options,
      });
    const apiKey = (connectionId: string, extra: Record<string, unknown> = {}) => ({
      connectionId,
      providerConfigKey: 'keys',
      credentials: { type: 'API_KEY' as const, apiKey: `key-of-${connectionId}` },
      ...extra,
    });

    it('creates, gets, lists and deletes', async () => {
      const { store } = await open();
      const m = manager(store);
      const created = await m.create(apiKey('user:1/ä', { metadata: { plan: 'pro' }, tags: { Env: 'prod' } }));
      assert.ok(Number.isInteger(created.id));
      const fetched = await m.get('user:1/ä');
      assert.equal(fetched.id, created.id);
      assert.deepEqual(fetched.credentials, { type: 'API_KEY', apiKey: 'key-of-user:1/ä' });
      assert.deepEqual(fetched.tags, { env: 'prod' });
      const listed = await m.list();
      assert.equal(listed.connections.length, 1);
      assert.equal('credentials' in listed.connections[0]!, false);
      await m.delete('user:1/ä');
      await assert.rejects(m.get('user:1/ä'), UnknownConnectionError);
      assert.deepEqual((await m.list()).connections, []);
      await m.close();
    });

    it('finds a connection by id alone, and refuses to guess between integrations', async () => {
      const { store } = await open();
      const m = manager(store);
      await m.create(apiKey('shared-id'));
      assert.equal((await m.get('shared-id')).provider_config_key, 'keys');
      await m.create({
        connectionId: 'shared-id',
        providerConfigKey: 'basic',
        credentials: { type: 'BASIC', username: 'u', password: 'p' },
      });
      await assert.rejects(m.get('shared-id'), AmbiguousConnectionError);
      assert.equal((await m.get('shared-id', { providerConfigKey: 'basic' })).provider_config_key, 'basic');
      await m.close();
    });

    it('lists by integration, tag, end user and search, a page at a time, in creation order', async () => {
      const { store } = await open();
      const m = manager(store);
      for (let i = 0; i < 25; i++) {
        await m.create(
          apiKey(`conn-${String(i).padStart(2, '0')}`, {
            providerConfigKey: i % 5 === 0 ? 'basic' : 'keys',
            credentials:
              i % 5 === 0 ? { type: 'BASIC', username: 'u', password: 'p' } : { type: 'API_KEY', apiKey: 'k' },
            tags: { tier: i % 2 === 0 ? 'even' : 'odd' },
            endUser: { id: `user-${i % 3}`, email: `person${i}@example.com` },
          }),
        );
      }
      const walk = async (filter: Parameters<typeof m.list>[0]) => {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await m.list({ ...filter, limit: 4, ...(cursor && { cursor }) });
          assert.ok(page.connections.length <= 4);
          ids.push(...page.connections.map((c) => c.connection_id));
          cursor = page.nextCursor;
        } while (cursor);
        return ids;
      };
      const expected = (keep: (i: number) => boolean) =>
        Array.from({ length: 25 }, (_, i) => i)
          .filter(keep)
          .map((i) => `conn-${String(i).padStart(2, '0')}`);
      assert.deepEqual(
        await walk({}),
        expected(() => true),
      );
      assert.deepEqual(
        await walk({ providerConfigKey: 'basic' }),
        expected((i) => i % 5 === 0),
      );
      assert.deepEqual(
        await walk({ providerConfigKeys: ['basic', 'keys'] }),
        expected(() => true),
      );
      assert.deepEqual(
        await walk({ tags: { TIER: 'even' } }),
        expected((i) => i % 2 === 0),
      );
      assert.deepEqual(
        await walk({ endUserId: 'user-1' }),
        expected((i) => i % 3 === 1),
      );
      assert.deepEqual(
        await walk({ search: 'CONN-1' }),
        expected((i) => i >= 10 && i < 20),
      );
      assert.deepEqual(
        await walk({ search: 'person7@' }),
        expected((i) => i === 7),
      );
      assert.deepEqual(
        (await m.list({ providerConfigKey: 'keys', tags: { tier: 'odd' } })).connections.map((c) => c.connection_id),
        expected((i) => i % 5 !== 0 && i % 2 === 1),
      );
      await m.close();
    });

    it('never fails a create for concurrency: 128 in flight from two managers, distinct ids', async () => {
      const { store, openAgain } = await open();
      const first = manager(store);
      const second = manager(openAgain());
      const results = await Promise.allSettled(
        Array.from({ length: 128 }, (_, i) => (i % 2 ? second : first).create(apiKey(`burst-${i}`))),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      assert.deepEqual(failed, []);
      const ids = results.map((r) => (r as PromiseFulfilledResult<{ id: number }>).value.id);
      assert.equal(new Set(ids).size, 128);
      assert.equal((await first.list({ search: 'burst-' })).connections.length, 128);
      await second.close();
      await first.close();
    });

    it('refuses a duplicate create; exactly one of two concurrent creates wins', async () => {
      const { store, openAgain } = await open();
      const first = manager(store);
      const second = manager(openAgain());
      const results = await Promise.allSettled([
        first.create(apiKey('dup', { credentials: { type: 'API_KEY', apiKey: 'from-first' } })),
        second.create(apiKey('dup', { credentials: { type: 'API_KEY', apiKey: 'from-second' } })),
      ]);
      const rejected = results.filter((r) => r.status === 'rejected');
      assert.equal(rejected.length, 1);
      assert.ok((rejected[0] as PromiseRejectedResult).reason instanceof DuplicateConnectionError);
      const winner = results[0]!.status === 'fulfilled' ? 'from-first' : 'from-second';
      assert.deepEqual((await first.get('dup')).credentials, { type: 'API_KEY', apiKey: winner });
      await second.close();
      await first.close();
    });

    it('two managers on separate connections spend a rotating refresh token once', async () => {
      const { store, openAgain } = await open();
      const first = manager(store);
      const second = manager(openAgain());
      await first.create({
        connectionId: 'shared',
        providerConfigKey: 'rotating',
        credentials: {
          type: 'OAUTH2',
          access_token: 'old',
          refresh_token: server.issueRefreshToken(),
          expires_at: new Date(Date.now() - 1000).toISOString(),
        },
      });
      const requestsBefore = server.tokenRequests();
      const invalidBefore = server.invalidGrants();
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? second : first).get('shared')));
      assert.equal(server.tokenRequests() - requestsBefore, 1);
      assert.equal(server.invalidGrants() - invalidBefore, 0);
      const tokens = new Set(results.map((r) => (r.credentials as { access_token: string }).access_token));
      assert.equal(tokens.size, 1);
      assert.equal(tokens.has('old'), false);
      // The rotated refresh token was stored: a forced refresh from the other manager works.
      await second.get('shared', { forceRefresh: true });
      assert.equal(server.invalidGrants() - invalidBefore, 0);
      await second.close();
      await first.close();
    });
  });
}

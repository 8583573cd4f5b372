import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisStore } from '../../adapters/redis.js';
import { StorageError } from '../../src/index.js';
import { storageConformance } from '../../src/testing/index.js';
import selfsigned from 'selfsigned';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import {
  freshPrefix,
  keysUnder,
  redisAvailable,
  redisServerInstalled,
  redisSuiteNotRun,
  startRedisServer,
  useRedis,
  withRawClient,
} from '../support/redis.js';

if (!redisAvailable()) {
  redisSuiteNotRun();
} else {
  const url = useRedis();
  const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };

  // Every store opened gets a prefix of its own: a fresh, empty store on the shared server.
  storageConformance({ describe, it, beforeAll, afterAll }, 'redis', async () => {
    const prefix = freshPrefix('conformance');
    const store = redisStore({ url: url(), prefix });
    return { store, openAgain: () => redisStore({ url: url(), prefix }), cleanup: () => store.close() };
  });

  describe('redis adapter', () => {
    it('keeps apps with different prefixes apart on one server, and writes only under its prefix', async () => {
      const [a, b] = [freshPrefix('app-a'), freshPrefix('app-b')];
      const first = redisStore({ url: url(), prefix: a });
      const second = redisStore({ url: url(), prefix: b });
      const index = { id: 1, providerConfigKey: 'github', connectionId: 'c1', tags: {}, attentionAt: 1000 };
      expect(await first.insert('connection:x', 'from-a', { index })).toBe(true);
      expect(await second.insert('connection:x', 'from-b', { index })).toBe(true);
      expect(await first.get('connection:x')).toBe('from-a');
      expect(await second.get('connection:x')).toBe('from-b');
      expect(await second.delete('connection:x', 'from-a')).toBe(false);
      expect(await first.increment('seq')).toBe(1);
      expect(await second.increment('seq')).toBe(1);
      expect(await first.locks.tryAcquire('lock', 'owner-a', 10_000)).toBe(true);
      expect(await second.locks.tryAcquire('lock', 'owner-b', 10_000)).toBe(true);
      expect(await second.delete('connection:x')).toBe(true);
      expect(await first.scan('', { limit: 10 })).toEqual([{ key: 'connection:x', value: 'from-a' }]);
      expect(await second.scan('', { limit: 10 })).toEqual([]);
      expect(await first.findConnections({ limit: 10 })).toHaveLength(1);
      expect(await second.findConnections({ limit: 10 })).toEqual([]);
      expect(await first.dueForAttention(5000, { limit: 10 })).toEqual([{ key: 'connection:x', attentionAt: 1000 }]);
      expect(await second.dueForAttention(5000, { limit: 10 })).toEqual([]);
      const keys = await keysUnder(url(), a);
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.every((key) => key.startsWith(a))).toBe(true);
      await first.close();
      await second.close();
    });

    it('keeps connections across reopening', async () => {
      const prefix = freshPrefix('persist');
      const writer = testManager({ store: redisStore({ url: url(), prefix }), integrations });
      await writer.create({
        connectionId: 'persisted',
        providerConfigKey: 'keys',
        credentials: { type: 'API_KEY', apiKey: 'k-1' },
      });
      await writer.close();
      const reader = testManager({ store: redisStore({ url: url(), prefix }), integrations });
      expect((await reader.get('persisted')).credentials).toEqual({ type: 'API_KEY', apiKey: 'k-1' });
    });

    it('pages the attention set by (attentionAt, key) even when the cursor entry is gone', async () => {
      const store = redisStore({ url: url(), prefix: freshPrefix('due') });
      const index = (id: number, attentionAt: number) => ({
        id,
        providerConfigKey: 'github',
        connectionId: `c${id}`,
        tags: {},
        attentionAt,
      });
      // Five ties at 1000, in key order b0…b4, then one later.
      for (let i = 0; i < 5; i++) await store.insert(`b${4 - i}`, 'x', { index: index(i + 1, 1000) });
      await store.insert('a-later', 'x', { index: index(9, 2000) });
      const first = await store.dueForAttention(5000, { limit: 2 });
      expect(first.map((entry) => entry.key)).toEqual(['b0', 'b1']);
      // The cursor's own entry is deleted, and another rescheduled, before the next page.
      await store.delete('b1');
      await store.replace('b0', 'x', 'y', { index: index(5, 3000) });
      const second = await store.dueForAttention(5000, { limit: 10, after: first[1] });
      expect(second).toEqual([
        { key: 'b2', attentionAt: 1000 },
        { key: 'b3', attentionAt: 1000 },
        { key: 'b4', attentionAt: 1000 },
        { key: 'a-later', attentionAt: 2000 },
        { key: 'b0', attentionAt: 3000 },
      ]);
      await store.close();
    });

    it('keeps looking past more keys than one script call looks at (non-matching or expired)', async () => {
      const prefix = freshPrefix('budget');
      const store = redisStore({ url: url(), prefix });
      const many = 1100;
      const index = (id: number) => ({
        id,
        providerConfigKey: 'github',
        connectionId: `miss-${id}`,
        tags: {},
        attentionAt: null,
      });
      const expiresAt = Date.now() + 1000;
      for (let i = 1; i <= many; i++) {
        await store.insert(`connection:${String(i).padStart(5, '0')}`, 'v', { index: index(i) });
        await store.insert(`flow:${String(i).padStart(5, '0')}`, 'pending', { expiresAt });
      }
      await store.insert('connection:99999', 'the one', {
        index: { ...index(many + 1), connectionId: 'needle' },
      });
      await store.insert('flow:99999', 'live');
      expect(await store.findConnections({ search: 'NEEDLE', limit: 10 })).toEqual([
        { key: 'connection:99999', value: 'the one' },
      ]);
      // Each flow expires by the server's clock, PX after its SET arrived: wait for the last one.
      await vi.waitFor(
        async () => expect(await store.scan('flow:', { limit: 10 })).toEqual([{ key: 'flow:99999', value: 'live' }]),
        { timeout: 10_000, interval: 100 },
      );
      // The expired keys were dropped from the key set on the way.
      const remaining = await withRawClient(url(), (send) => send(['ZCARD', `${prefix}keys`]));
      expect(remaining).toBe(many + 2);
      await store.close();
    }, 60_000);

    it('refuses a URL that is not redis:// or rediss:// with a typed error', () => {
      expect(() => redisStore('http://localhost:6379')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
      expect(() => redisStore({ url: 'localhost:6379' })).toThrow(/redis:\/\/ or rediss:\/\//);
    });
  });

  if (!redisServerInstalled()) {
    // These need a server whose settings the test chooses.
    describe('redis on a server of its own', () => redisSuiteNotRun('redis-server (persistence warning, TLS)'));
  } else {
    describe('redis on a server of its own (persistence warning, TLS)', () => {
      it('warns once, at first use, when the server keeps no append-only file', async () => {
        const server = await startRedisServer({ appendOnly: false });
        try {
          const logs = captureLogs();
          const store = redisStore({ url: server.url, logger: logs.logger });
          await store.insert('k', 'v');
          await store.get('k');
          await vi.waitFor(() => expect(logs.lines.join('\n')).toMatch(/appendonly no/));
          expect(logs.lines.filter((line) => line.includes('appendonly'))).toHaveLength(1);
          expect(logs.lines[0]).toMatch(/^warn .*appendfsync everysec/);
          await store.close();

          // Without a logger, through onError, which the manager logs.
          const managerLogs = captureLogs();
          const manager = testManager({ store: redisStore(server.url), integrations: {}, logger: managerLogs.logger });
          await manager.list();
          await vi.waitFor(() => expect(managerLogs.lines.join('\n')).toMatch(/REDIS_NOT_PERSISTENT/));
        } finally {
          await server.destroy();
        }
      });

      it('a logger that throws on the persistence warning is no unhandled rejection', async () => {
        const server = await startRedisServer({ appendOnly: false });
        const rejections: unknown[] = [];
        const onRejection = (reason: unknown) => rejections.push(reason);
        process.on('unhandledRejection', onRejection);
        try {
          let warned = 0;
          const logger = {
            warn: () => {
              warned += 1;
              throw new Error('logger bug');
            },
            error: () => {},
          };
          const store = redisStore({ url: server.url, logger });
          await store.insert('k', 'v');
          await vi.waitFor(() => expect(warned).toBe(1));
          // An unhandled rejection is reported on a later turn of the event loop: let it come.
          await new Promise<void>((resolve) => setImmediate(resolve));
          await new Promise<void>((resolve) => setImmediate(resolve));
          expect(rejections).toEqual([]);
          await store.close();
        } finally {
          process.off('unhandledRejection', onRejection);
          await server.destroy();
        }
      });

      it('speaks TLS for a rediss:// URL, checking the server certificate against the given CA', async () => {
        const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
          keySize: 2048,
          algorithm: 'sha256',
          extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
        });
        const server = await startRedisServer({ tls: { cert: pems.cert, key: pems.private } });
        try {
          expect(server.url).toMatch(/^rediss:\/\//);
          const store = redisStore({ url: server.url, tls: { ca: pems.cert } });
          expect(await store.insert('k', 'over tls')).toBe(true);
          expect(await store.get('k')).toBe('over tls');
          await store.close();

          // Without the CA the self-signed certificate is refused: no silent downgrade.
          const manager = testManager({ store: redisStore(server.url), integrations });
          const refused = await manager.list().then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(refused).toBeInstanceOf(StorageError);
          expect((refused as StorageError).message).toMatch(/certificate/i);
        } finally {
          await server.destroy();
        }
      });

      it('says nothing when the append-only file is on', async () => {
        const server = await startRedisServer({ appendOnly: true });
        try {
          const logs = captureLogs();
          const store = redisStore({ url: server.url, logger: logs.logger });
          await store.insert('k', 'v');
          // The check is one CONFIG GET after connecting; a later command is answered after it.
          await store.get('k');
          await store.increment('n');
          expect(logs.lines).toEqual([]);
          await store.close();
        } finally {
          await server.destroy();
        }
      });
    });
  }
}

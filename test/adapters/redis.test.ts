import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisStore } from '../../adapters/redis.js';
import { storageConformance } from '../../src/testing/index.js';
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
} from '../support/redis.js';

if (!redisAvailable()) {
  redisSuiteNotRun();
} else {
  const url = useRedis();

  // Every store opened gets a prefix of its own: a fresh, empty store on the shared server.
  storageConformance({ describe, it, beforeAll, afterAll }, 'redis', async () => {
    const prefix = freshPrefix('conformance');
    const store = redisStore({ url: url(), prefix });
    return { store, openAgain: () => redisStore({ url: url(), prefix }), cleanup: () => store.close() };
  });

  describe('redis adapter', () => {
    const integrations = { keys: { provider: 'any', definition: { authMode: 'API_KEY' as const } } };

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

    it('refuses a URL that is not redis:// or rediss:// with a typed error', () => {
      expect(() => redisStore('http://localhost:6379')).toThrow(expect.objectContaining({ code: 'invalid_request' }));
      expect(() => redisStore({ url: 'localhost:6379' })).toThrow(/redis:\/\/ or rediss:\/\//);
    });
  });

  if (!redisServerInstalled()) {
    // The persistence checks need a server whose settings the test chooses.
    describe('redis persistence warning', () => redisSuiteNotRun('redis-server (persistence warning)'));
  } else {
    describe('redis persistence warning', () => {
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

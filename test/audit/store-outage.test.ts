/**
 * The trail while its store is away, on a real redis-server stopped and started again: reads that
 * fail are recorded with their code, the entries that cannot be written wait in memory (logged,
 * never an unhandled rejection) and are written, in one unbroken chain, once the server is back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { redisStore } from '../../adapters/redis.js';
import { verifyAuditTrail } from '../../src/index.js';
import { captureLogs } from '../support/logs.js';
import { testManager } from '../support/manager.js';
import { freshPrefix, redisServerInstalled, redisSuiteNotRun, startRedisServer } from '../support/redis.js';
import { allEntries } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Polls `check` until it holds, failing after `ms`. */
async function eventually(check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

if (!redisServerInstalled()) {
  redisSuiteNotRun('redis-server (audit outage test)');
} else {
  describe('the audit trail while the store is away', () => {
    it('keeps the entries it could not write and writes them once the store is back', async () => {
      const server = await startRedisServer();
      cleanups.push(() => server.destroy());
      const prefix = freshPrefix('audit');
      const { logger, lines } = captureLogs();
      const manager = testManager({
        store: redisStore({ url: server.url, prefix }),
        logger,
        audit: { flushIntervalMs: 20 },
        integrations: { keyed: { provider: 'keyed-api', definition: { authMode: 'API_KEY' } } },
      });
      const reader = redisStore({ url: server.url, prefix });
      cleanups.push(() => reader.close());
      await manager.create({
        connectionId: 'acct',
        providerConfigKey: 'keyed',
        credentials: { type: 'API_KEY', apiKey: 'sk-outage-secret-0123456789' },
      });
      await eventually(async () => (await verifyAuditTrail(reader)).entries === 1);

      await server.stop();
      await expect(manager.get('acct')).rejects.toMatchObject({ code: 'storage_error' });
      await expect(manager.get('acct')).rejects.toMatchObject({ code: 'storage_error' });
      await eventually(() => lines.some((line) => line.includes('audit entries could not be written yet')));

      await server.start();
      await eventually(async () => (await verifyAuditTrail(reader).catch(() => ({ entries: 0 }))).entries === 3);
      await manager.get('acct');
      await manager.close();

      const entries = await allEntries(reader);
      expect(entries.map((entry) => [entry.action, entry.outcome, entry.code])).toEqual([
        ['create', 'ok', undefined],
        ['read', 'error', 'storage_error'],
        ['read', 'error', 'storage_error'],
        ['read', 'ok', undefined],
      ]);
      expect(await verifyAuditTrail(reader)).toMatchObject({ ok: true, entries: 4 });
      expect(lines.join('\n')).not.toContain('sk-outage-secret');
    }, 120_000);
  });
}
